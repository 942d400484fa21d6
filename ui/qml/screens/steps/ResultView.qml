import QtQuick
import "../../components"

// What the service found (e.g. "no property registered"): a headline and
// label/value rows, exactly as the engine put them in state.result.
Panel {
    objectName: "resultView"
    readonly property var s: session.state
    readonly property var r: s.result || ({})
    readonly property var rows: r.rows || []
    Column {
        anchors.fill: parent
        anchors.margins: theme.spacing * 2
        spacing: theme.spacing
        KText {
            objectName: "resultHeadline"
            width: parent.width
            visible: text !== ""
            text: r.headline || ""
            font.pixelSize: theme.title
            font.bold: true
            color: r.status === "warn" ? theme.warning : (r.status === "error" ? theme.danger : theme.success)
        }
        TicketNumber { visible: !!r.ticket }
        Repeater {
            model: rows
            delegate: Row {
                width: parent.width
                spacing: theme.spacing
                KText { width: parent.width * 0.32; text: modelData.label || ""; color: theme.muted }
                KText { objectName: "resultValue_" + index; width: parent.width * 0.64; text: modelData.value || ""; font.bold: true }
            }
        }
    }
}
