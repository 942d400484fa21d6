import QtQuick
import "../../components"

// Paper coming out of a printer while the job runs.
Item {
    objectName: "printingView"
    readonly property var s: session.state
    Rectangle {
        id: printer
        anchors.centerIn: parent
        anchors.verticalCenterOffset: -parent.height * 0.1
        width: Math.min(parent.width * 0.5, 520); height: width * 0.42
        radius: theme.radius
        color: theme.text
        Rectangle { anchors.horizontalCenter: parent.horizontalCenter; y: parent.height * 0.62; width: parent.width * 0.7; height: 10; color: "#555" }
    }
    Rectangle {
        id: sheet
        anchors.horizontalCenter: printer.horizontalCenter
        y: printer.y + printer.height * 0.62
        width: printer.width * 0.56
        color: theme.surface
        border.color: theme.border
        NumberAnimation on height { from: 0; to: printer.width * 0.5; duration: 2000; loops: Animation.Infinite }
        Column {
            x: 12; y: 12; spacing: 10
            Repeater { model: Math.floor(sheet.height / 24); Rectangle { width: sheet.width - 24 - (index % 3) * 30; height: 8; color: theme.border } }
        }
    }
    KText {
        objectName: "printingText"
        anchors.horizontalCenter: parent.horizontalCenter
        anchors.bottom: parent.bottom
        text: vm.t["ui.printing.title"]
        font.pixelSize: theme.title
    }
    TicketNumber {
        anchors { left: parent.left; top: parent.top }
        visible: !!(session.state.result && session.state.result.ticket)
    }
}
