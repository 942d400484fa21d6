import QtQuick
import "../../components"

Item {
    objectName: "messageView"
    readonly property var s: session.state
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
            CheckMark { objectName: "doneMark"; anchors.fill: parent; ink: theme.onSuccess }
        }
    }
}
