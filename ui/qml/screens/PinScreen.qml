import QtQuick
import "../components"

Item {
    id: screen
    objectName: "pinScreen"
    property string pin: ""
    Column {
        anchors.horizontalCenter: parent.horizontalCenter
        anchors.top: parent.top
        anchors.topMargin: theme.spacing * 3
        width: Math.min(parent.width - theme.spacing * 4, 900)
        spacing: theme.spacing
        KText { text: vm.t["ui.tech.title"]; font.pixelSize: theme.title; font.bold: true }
        KText { objectName: "pinMessage"; width: parent.width; text: tech.message; color: theme.muted }
        Rectangle {
            width: parent.width; height: theme.button
            radius: theme.radius; color: theme.surface; border.color: theme.border; border.width: 2
            KText {
                objectName: "pinDots"
                anchors.centerIn: parent
                text: "●".repeat(screen.pin.length)
                font.pixelSize: theme.title
            }
        }
        OnScreenKeyboard {
            objectName: "pinKeyboard"
            width: parent.width
            mode: "phone"
            onKey: function(k) { if (screen.pin.length < 12) screen.pin += k }
            onBackspace: screen.pin = screen.pin.slice(0, -1)
            onClear: screen.pin = ""
            onDone: { tech.submitPin(screen.pin); screen.pin = "" }
        }
        KButton {
            objectName: "btnLeaveTech"
            kind: "secondary"
            text: vm.t["ui.tech.exit"]
            onClicked: tech.leave()
        }
    }
}
