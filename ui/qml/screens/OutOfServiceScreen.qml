import QtQuick
import "../components"

Item {
    objectName: "outOfServiceScreen"
    Column {
        anchors.centerIn: parent
        width: parent.width * 0.8
        spacing: theme.spacing * 1.5
        Rectangle {
            anchors.horizontalCenter: parent.horizontalCenter
            width: theme.huge * 2; height: width; radius: width / 2
            color: theme.warning
            Text { Accessible.role: Accessible.Graphic; Accessible.name: vm.t["ui.oos.title"]; anchors.centerIn: parent; text: "⚠"; font.pixelSize: parent.height * 0.55; color: "#FFFFFF" }
        }
        KText {
            objectName: "oosTitle"
            width: parent.width
            horizontalAlignment: Text.AlignHCenter
            text: vm.t["ui.oos.title"]
            font.pixelSize: theme.title * 1.2
            font.bold: true
        }
        KText {
            width: parent.width
            horizontalAlignment: Text.AlignHCenter
            text: vm.t["ui.oos.body"]
        }
        KText {
            objectName: "oosHours"
            visible: text !== ""
            width: parent.width
            horizontalAlignment: Text.AlignHCenter
            text: vm.counterHours
        }
        KText {
            objectName: "oosReason"
            width: parent.width
            horizontalAlignment: Text.AlignHCenter
            visible: vm.oosReason !== ""
            text: vm.t["ui.oos.reason"].replace("{reason}", vm.oosReason)
            color: theme.muted
            font.pixelSize: theme.small
        }
    }
}
