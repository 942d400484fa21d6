import QtQuick
import "../../components"

// The message says what happened; the footer offers the next step
// (retry / go to a counter / another output) as the engine decides.
Item {
    objectName: "errorView"
    Column {
        anchors.centerIn: parent
        width: parent.width * 0.8
        spacing: theme.spacing
        Rectangle {
            anchors.horizontalCenter: parent.horizontalCenter
            width: theme.huge * 1.6; height: width; radius: width / 2
            color: theme.danger
            Text { Accessible.role: Accessible.Graphic; Accessible.name: vm.t["ui.error.title"]; anchors.centerIn: parent; text: "!"; font.pixelSize: parent.height * 0.7; font.bold: true; color: theme.onDanger }
        }
        KText {
            objectName: "errorNext"
            width: parent.width
            horizontalAlignment: Text.AlignHCenter
            text: vm.t["ui.error.next"]
            color: theme.muted
        }
        KText {
            objectName: "errorHours"
            visible: text !== ""
            width: parent.width
            horizontalAlignment: Text.AlignHCenter
            text: vm.counterHours
            color: theme.muted
            font.pixelSize: theme.small
        }
    }
}
