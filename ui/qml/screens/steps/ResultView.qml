import QtQuick
import "../../components"

// What the service found (e.g. "no property registered"), as label/value lines.
Panel {
    objectName: "resultView"
    readonly property var s: vm.session
    readonly property var r: s.result || ({})
    readonly property var lines: {
        if (r.lines) return r.lines
        var out = []
        for (var k in r) {
            var v = r[k]
            if (typeof v === "string" || typeof v === "number")
                out.push({"label": (r.labels && r.labels[k]) ? r.labels[k] : k, "value": String(v)})
        }
        return out
    }
    Column {
        anchors.fill: parent
        anchors.margins: theme.spacing * 2
        spacing: theme.spacing
        KText {
            objectName: "resultHeadline"
            width: parent.width
            visible: text !== ""
            text: r.headline || r.summary || ""
            font.pixelSize: theme.title
            font.bold: true
            color: r.ok === false ? theme.danger : theme.success
        }
        Repeater {
            model: lines
            delegate: Row {
                width: parent.width
                spacing: theme.spacing
                KText { width: parent.width * 0.35; text: modelData.label; color: theme.muted }
                KText { objectName: "resultValue_" + index; width: parent.width * 0.6; text: modelData.value; font.bold: true }
            }
        }
    }
}
