import QtQuick
import "../../components"

Item {
    id: view
    objectName: "takePaperView"
    // the slot, the paper rising out of it and the arrow above fit the
    // view's height too (a short screen in elderly mode leaves little)
    readonly property real room: height * 0.9 - 26 - arrow.implicitHeight
    Rectangle {
        id: slot
        anchors.horizontalCenter: parent.horizontalCenter
        anchors.bottom: parent.bottom
        anchors.bottomMargin: parent.height * 0.1
        width: Math.max(120, Math.min(parent.width * 0.5, 520, view.room / 0.7)); height: 26; radius: 13
        color: theme.text
    }
    Rectangle {
        id: paper
        anchors.horizontalCenter: slot.horizontalCenter
        width: slot.width * 0.6; height: slot.width * 0.5
        color: theme.surface; border.color: theme.border; border.width: 2
        SequentialAnimation on y {
            loops: Animation.Infinite
            NumberAnimation { from: slot.y - paper.height * 0.2; to: slot.y - paper.height * 1.1; duration: 1200; easing.type: Easing.OutCubic }
            PauseAnimation { duration: 800 }
        }
    }
    Text {
        id: arrow
        Accessible.role: Accessible.Graphic
        Accessible.name: session.state.title || ""
        anchors.horizontalCenter: parent.horizontalCenter
        anchors.bottom: slot.top
        anchors.bottomMargin: paper.height * 1.15
        text: "↑"
        font.pixelSize: Math.min(theme.huge * 1.4, Math.max(theme.title, view.height * 0.25))
        font.bold: true
        color: theme.success
    }
    TicketNumber {
        // portrait: centred above the slot; landscape: in the free top-left corner
        x: parent.width < parent.height ? (parent.width - width) / 2 : 0
        anchors.top: parent.top
        visible: !!(session.state.result && session.state.result.ticket)
    }
}
