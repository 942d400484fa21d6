import QtQuick
import "../../components"

// What the service found (e.g. "no property registered"): a headline and
// label/value rows, exactly as the engine put them in state.result.  Long
// results (a case's whole timeline in elderly mode) scroll inside the card,
// with a bar showing there is more.
Panel {
    objectName: "resultView"
    readonly property var s: session.state
    readonly property var r: s.result || ({})
    readonly property var rows: r.rows || []
    Flickable {
        id: flick
        objectName: "resultScroll"
        anchors.fill: parent
        anchors.margins: theme.spacing * 2
        clip: true
        contentWidth: width
        contentHeight: body.implicitHeight
        boundsBehavior: Flickable.StopAtBounds
        Column {
            id: body
            width: flick.width - (more.visible ? more.width * 2 : 0)
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
    Rectangle {
        id: more
        objectName: "resultMore"
        visible: flick.contentHeight > flick.height + 1
        anchors.right: parent.right
        anchors.rightMargin: theme.spacing / 2
        y: flick.y + flick.visibleArea.yPosition * flick.height
        width: 10
        height: Math.max(40, flick.visibleArea.heightRatio * flick.height)
        radius: 5
        color: theme.muted
    }
}
