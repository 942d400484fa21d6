import QtQuick

// A queue number, big, with the people waiting before it.
Column {
    readonly property var r: vm.session.result || ({})
    spacing: theme.spacing / 2
    Text {
        objectName: "ticketNumber"
        text: r.ticket || ""
        font.family: theme.font
        font.pixelSize: theme.huge * 1.4
        font.bold: true
        color: theme.primary
    }
    KText {
        objectName: "ticketWaiting"
        visible: r.waiting !== undefined && r.waiting !== null
        text: vm.lang === "zh" ? ("前面还有 " + r.waiting + " 人等候" + (r.offline ? "（离线号段）" : ""))
                               : (r.waiting + " people before you" + (r.offline ? " (offline range)" : ""))
        color: theme.muted
    }
}
