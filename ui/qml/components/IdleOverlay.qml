import QtQuick

// Idle warning with a visible countdown; any tap continues the session.
Rectangle {
    color: theme.overlay
    Accessible.role: Accessible.AlertMessage
    Accessible.name: vm.idleText
    Accessible.description: vm.t["ui.idle.continue"]
    MouseArea { anchors.fill: parent; onClicked: vm.touched() }
    Panel {
        anchors.centerIn: parent
        width: Math.min(parent.width * 0.8, 1100)
        height: col.implicitHeight + theme.spacing * 4
        Column {
            id: col
            anchors.centerIn: parent
            width: parent.width - theme.spacing * 4
            spacing: theme.spacing * 1.5
            Text {
                objectName: "idleCountdown"
                Accessible.role: Accessible.StaticText
                Accessible.name: vm.idleText
                anchors.horizontalCenter: parent.horizontalCenter
                text: vm.idleLeft
                font.family: theme.font
                font.pixelSize: theme.huge * 1.5
                font.bold: true
                color: theme.danger
            }
            KText {
                objectName: "idleText"
                width: parent.width
                horizontalAlignment: Text.AlignHCenter
                text: vm.idleText
            }
            KButton {
                objectName: "btnContinue"
                anchors.horizontalCenter: parent.horizontalCenter
                width: Math.min(parent.width, 600)
                text: vm.t["ui.idle.continue"]
                onClicked: vm.touched()
            }
        }
    }
}
