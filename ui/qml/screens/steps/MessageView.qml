import QtQuick
import "../../components"

Item {
    objectName: "messageView"
    readonly property var s: vm.session
    Column {
        anchors.centerIn: parent
        width: parent.width * 0.8
        spacing: theme.spacing
        // the last screen of a service: a clear "done" mark
        Rectangle {
            visible: s.step === "thanks"
            anchors.horizontalCenter: parent.horizontalCenter
            width: theme.huge * 2; height: width; radius: width / 2
            color: theme.success
            Text { anchors.centerIn: parent; text: "✓"; font.pixelSize: parent.height * 0.6; font.bold: true; color: theme.onSuccess }
        }
        KText {
            width: parent.width
            horizontalAlignment: Text.AlignHCenter
            visible: text !== ""
            text: s.body || ""
        }
    }
}
