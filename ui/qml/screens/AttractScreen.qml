import QtQuick
import "../components"

// Start screen: the place, the time, one big "touch to start", what can be
// done right now and when the staffed counters are open.  The footer keeps
// its natural height; the clock shrinks when the rest needs the room, so
// nothing overlaps in either orientation or in elderly mode.
Item {
    id: screen
    objectName: "attractScreen"
    property bool portrait: width < height

    MouseArea { anchors.fill: parent; onClicked: vm.touchStart() }

    Column {
        id: head
        anchors.horizontalCenter: parent.horizontalCenter
        anchors.verticalCenter: middle.verticalCenter
        width: parent.width - theme.spacing * 6
        spacing: theme.spacing
        // operator's logo, large, when the site has one
        Image {
            id: logoImage
            objectName: "attractLogo"
            anchors.horizontalCenter: parent.horizontalCenter
            visible: vm.logoUrl !== "" && status === Image.Ready
            source: vm.logoUrl
            height: visible ? (screen.portrait ? 180 : 120) : 0
            width: Math.min(parent.width, height * 4)
            sourceSize.height: 256
            fillMode: Image.PreserveAspectFit
        }
        KText {
            id: hall
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
            // what the middle area leaves after the other rows and a margin
            font.pixelSize: Math.max(64, Math.min(screen.portrait ? 220 : 160,
                (middle.height - logoImage.height - hall.height - date.height - gap.height - touch.height
                 - sub.height - head.spacing * 6 - theme.spacing * 4) / 1.25))
            font.bold: true
            color: theme.primary
        }
        KText {
            id: date
            width: parent.width
            horizontalAlignment: Text.AlignHCenter
            text: vm.date
            color: theme.muted
        }
        Item { id: gap; width: 1; height: screen.portrait ? theme.spacing * 4 : theme.spacing }
        Rectangle {
            id: touch
            objectName: "touchToStart"
            anchors.horizontalCenter: parent.horizontalCenter
            width: Math.min(parent.width, 1000)
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
            width: parent.width
            horizontalAlignment: Text.AlignHCenter
            text: vm.t["ui.attract.subtitle"]
            color: theme.muted
        }
    }

    // the room above the footer; the head is centred in it
    Item {
        id: middle
        anchors { left: parent.left; right: parent.right; top: parent.top; bottom: foot.top }
    }

    Column {
        id: foot
        anchors.bottom: parent.bottom
        anchors.bottomMargin: theme.spacing * 2
        anchors.horizontalCenter: parent.horizontalCenter
        width: parent.width - theme.spacing * 6
        spacing: theme.spacing
        // What can be done right now, so nobody starts a service that is down.
        Column {
            objectName: "availableNow"
            visible: vm.availableNow.length > 0
            width: parent.width
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
                        width: Math.min(chip.implicitWidth + theme.spacing * 2, foot.width)
                        radius: height / 2
                        color: theme.surface
                        border.color: theme.border
                        KText {
                            id: chip
                            anchors.centerIn: parent
                            width: Math.min(implicitWidth, foot.width - theme.spacing * 2)
                            elide: Text.ElideRight
                            wrapMode: Text.NoWrap
                            text: modelData.title
                            font.pixelSize: theme.small
                        }
                    }
                }
            }
        }
        // opening hours of the staffed counters (counters.hours / hours_en)
        KText {
            objectName: "attractHours"
            visible: text !== ""
            width: parent.width
            text: vm.counterHours
            color: theme.muted
            font.pixelSize: theme.small
        }
    }
}
