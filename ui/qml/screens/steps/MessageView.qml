import QtQuick
import "../../components"

Item {
    objectName: "messageView"
    readonly property var s: vm.session
    KText {
        anchors.centerIn: parent
        width: parent.width * 0.8
        horizontalAlignment: Text.AlignHCenter
        text: s.body || ""
    }
}
