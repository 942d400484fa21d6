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
    // height the head needs without the clock, and what the footer keeps
    // for the chips: on short screens the date goes (the header shows it)
    // and only the chip rows that fit are shown
    readonly property real headMin: logoImage.height + hall.implicitHeight + gap.height + touch.height
                                    + sub.implicitHeight + head.spacing * 5 + theme.spacing * 2
    readonly property bool roomy: headMin + date.implicitHeight + footFixed + chipRow <= height
    readonly property real footFixed: availLabel.implicitHeight + hours.implicitHeight + foot.spacing * 2
                                      + theme.spacing * 3
    // very short screens (elderly text at 768 px or less): closer rows and
    // one language on the start button (estimated without those rows, so
    // the decision does not feed back into itself)
    readonly property bool tight: hall.implicitHeight + theme.title * 1.3 * 1.35 + theme.body * 1.35
                                  + theme.spacing * 2.5 + sub.implicitHeight + theme.spacing * 7 + footFixed > height
    readonly property real chipRow: theme.small * 1.4 + theme.spacing * 1.5
    readonly property real chipRoom: height - headMin - (roomy ? date.implicitHeight + head.spacing : 0) - footFixed

    Accessible.role: Accessible.Button
    Accessible.name: vm.t["ui.attract.start"]
    Accessible.description: vm.hallName
    Accessible.onPressAction: vm.touchStart()
    MouseArea { anchors.fill: parent; onClicked: vm.touchStart() }

    Column {
        id: head
        anchors.horizontalCenter: parent.horizontalCenter
        // centred in the room above the footer, never above its top
        y: Math.max(theme.spacing, (middle.height - height) / 2)
        width: parent.width - theme.spacing * 6
        spacing: screen.tight ? theme.spacing / 3 : theme.spacing
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
            Accessible.role: Accessible.Clock
            Accessible.name: vm.clock
            anchors.horizontalCenter: parent.horizontalCenter
            // what the middle area leaves after the other rows and a margin;
            // on a short screen the clock gives way (the header shows the time)
            readonly property real room: (middle.height - logoImage.height - hall.height - date.height - gap.height
                                          - touch.height - sub.height - head.spacing * 6 - theme.spacing * 4) / 1.25
            // no height binding: the column skips it when hidden, and a height bound
            // to the text's size while the size follows the room looped
            visible: room >= theme.huge * 0.75
            text: vm.clock
            font.family: theme.font
            font.pixelSize: Math.max(theme.huge * 0.75, Math.min(screen.portrait ? 220 : 160, room))
            font.bold: true
            color: theme.primary
        }
        KText {
            id: date
            visible: screen.roomy
            height: visible ? implicitHeight : 0
            width: parent.width
            horizontalAlignment: Text.AlignHCenter
            text: vm.date
            color: theme.muted
        }
        Item { id: gap; width: 1; height: screen.tight ? 0 : (screen.portrait ? theme.spacing * 4 : theme.spacing) }
        Rectangle {
            id: touch
            objectName: "touchToStart"
            Accessible.role: Accessible.Button
            Accessible.name: vm.t["ui.attract.start"]
            Accessible.onPressAction: vm.touchStart()
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
                    Accessible.role: Accessible.StaticText
                    Accessible.name: text
                    objectName: "touchText"
                    anchors.horizontalCenter: parent.horizontalCenter
                    text: vm.t["ui.attract.start"]
                    font.family: theme.font
                    font.pixelSize: theme.title * 1.3
                    font.bold: true
                    color: theme.onPrimary
                }
                Text {
                    Accessible.role: Accessible.StaticText
                    Accessible.name: text
                    anchors.horizontalCenter: parent.horizontalCenter
                    visible: !screen.tight
                    text: vm.otherStart
                    property string audit: "bilingual"   // "touch to start" in the other language, on purpose
                    font.family: theme.font
                    font.pixelSize: theme.body
                    color: theme.onPrimary
                }
            }
        }
        KText {
            id: sub
            objectName: "attractSubtitle"
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
            visible: catalog.availableNow.length > 0 && chips.rowsShown > 0
            width: parent.width
            spacing: theme.spacing
            KText {
                id: availLabel
                text: vm.t["ui.attract.available"]
                font.bold: true
                color: theme.muted
            }
            Flow {
                id: chips
                readonly property real rowH: (children.length > 1 ? children[0].height : screen.chipRow) + spacing
                readonly property int rowsShown: Math.max(0, Math.floor((screen.chipRoom + spacing) / rowH))
                width: parent.width
                height: Math.min(implicitHeight, rowsShown * rowH - spacing)
                clip: true   // whole rows only: what does not fit is in the catalog
                spacing: theme.spacing / 2
                Repeater {
                    model: catalog.availableNow
                    delegate: Rectangle {
                        objectName: "available_" + modelData.id
                        Accessible.role: Accessible.StaticText
                        Accessible.name: modelData.title
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
            id: hours
            objectName: "attractHours"
            visible: text !== ""
            width: parent.width
            text: vm.counterHours
            color: theme.muted
            font.pixelSize: theme.small
        }
    }
}
