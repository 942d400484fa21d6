import QtQuick

// A queue number, big, with the people waiting before it (when the central
// queue said so) and the counters that serve it.
Column {
    readonly property var r: session.state.result || ({})
    spacing: theme.spacing / 2
    Text {
        objectName: "ticketNumber"
        text: r.ticket || ""
        font.family: theme.font
        font.pixelSize: theme.huge * 1.4
        font.bold: true
        color: theme.primary
        Accessible.role: Accessible.StaticText
        Accessible.name: vm.t["ui.ticket.number"] + " " + text
    }
    KText {
        objectName: "ticketWaiting"
        text: r.waiting !== undefined && r.waiting !== null
              ? vm.t["ui.ticket.waiting"].replace("{waiting}", r.waiting) : vm.t["ui.ticket.offline"]
        color: theme.muted
    }
    KText {
        objectName: "ticketCounters"
        visible: !!r.counters
        text: vm.t["ui.ticket.counters"].replace("{counters}", r.counters || "")
        font.bold: true
    }
}
