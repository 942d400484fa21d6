import QtQuick
import "../components"

Item {
    id: screen
    objectName: "attractScreen"
    property bool portrait: width < height

    MouseArea { anchors.fill: parent; onClicked: vm.touchStart() }

    Column {
        id: head
        anchors.horizontalCenter: parent.horizontalCenter
        anchors.top: parent.top
        anchors.topMargin: screen.portrait ? 160 : 70
        width: parent.width - theme.spacing * 6
        spacing: theme.spacing
        KText {
            objectName: "attractHall"
            width: parent.width
            horizontalAlignment: Text.AlignHCenter
            text: vm.hallName
            font.pixelSize: theme.title * 1.2
            font.bold: true
        }
        Text {
            objectName: "attractClock"
            anchors.horizontalCenter: parent.horizontalCenter
            text: vm.clock
            font.family: theme.font
            font.pixelSize: screen.portrait ? 200 : 160
            font.bold: true
            color: theme.primary
        }
        KText {
            width: parent.width
            horizontalAlignment: Text.AlignHCenter
            text: vm.date
            color: theme.muted
        }
    }

    Rectangle {
        id: touch
        objectName: "touchToStart"
        anchors.horizontalCenter: parent.horizontalCenter
        anchors.top: head.bottom
        anchors.topMargin: screen.portrait ? 120 : 50
        width: Math.min(parent.width - theme.spacing * 6, 1000)
        height: touchCol.implicitHeight + theme.spacing * 2.5
        radius: height / 2
        color: theme.primary
        SequentialAnimation on scale {
            loops: Animation.Infinite
            NumberAnimation { from: 1.0; to: 1.04; duration: 900; easing.type: Easing.InOutQuad }
            NumberAnimation { from: 1.04; to: 1.0; duration: 900; easing.type: Easing.InOutQuad }
        }
        Column {
            id: touchCol
            anchors.centerIn: parent
            Text {
                objectName: "touchText"
                anchors.horizontalCenter: parent.horizontalCenter
                text: vm.lang === "zh" ? "点击开始" : "Touch to start"
                font.family: theme.font
                font.pixelSize: theme.title * 1.3
                font.bold: true
                color: theme.onPrimary
            }
            Text {
                anchors.horizontalCenter: parent.horizontalCenter
                text: vm.lang === "zh" ? "Touch to start" : "点击开始"
                font.family: theme.font
                font.pixelSize: theme.body
                color: theme.onPrimary
            }
        }
    }

    KText {
        id: sub
        anchors.top: touch.bottom
        anchors.topMargin: theme.spacing * 1.5
        anchors.horizontalCenter: parent.horizontalCenter
        text: vm.t["ui.attract.subtitle"]
        color: theme.muted
    }

    // What can be done right now, so nobody starts a service that is down.
    Column {
        objectName: "availableNow"
        visible: vm.availableNow.length > 0
        anchors.bottom: parent.bottom
        anchors.bottomMargin: theme.spacing * 3
        anchors.horizontalCenter: parent.horizontalCenter
        width: parent.width - theme.spacing * 6
        spacing: theme.spacing
        KText {
            text: vm.t["ui.attract.available"]
            font.bold: true
            color: theme.muted
        }
        Flow {
            width: parent.width
            spacing: theme.spacing / 2
            Repeater {
                model: vm.availableNow
                delegate: Rectangle {
                    objectName: "available_" + modelData.id
                    height: chip.implicitHeight + theme.spacing
                    width: chip.implicitWidth + theme.spacing * 2
                    radius: height / 2
                    color: theme.surface
                    border.color: theme.border
                    KText {
                        id: chip
                        anchors.centerIn: parent
                        text: modelData.title
                        font.pixelSize: theme.small
                    }
                }
            }
        }
    }
}
