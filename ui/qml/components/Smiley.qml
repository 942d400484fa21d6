import QtQuick

// A face drawn for a rating level: mood 2 = broad smile ... -2 = deep frown,
// so each of the five levels has its own face (font glyphs repeat).
Canvas {
    id: face
    property real mood: 0
    property color ink: theme.text
    implicitWidth: theme.huge
    implicitHeight: theme.huge
    onMoodChanged: requestPaint()
    onInkChanged: requestPaint()
    onPaint: {
        var ctx = getContext("2d")
        var w = width, h = height, r = Math.min(w, h) / 2 - 3
        ctx.reset()
        ctx.lineWidth = Math.max(3, r / 9)
        ctx.strokeStyle = ink
        ctx.fillStyle = ink
        ctx.lineCap = "round"
        ctx.beginPath(); ctx.arc(w / 2, h / 2, r, 0, 2 * Math.PI); ctx.stroke()
        var ex = r * 0.38, ey = h / 2 - r * 0.28, er = Math.max(2.5, r / 9)
        ctx.beginPath(); ctx.arc(w / 2 - ex, ey, er, 0, 2 * Math.PI); ctx.fill()
        ctx.beginPath(); ctx.arc(w / 2 + ex, ey, er, 0, 2 * Math.PI); ctx.fill()
        // mouth: a quadratic curve bent up (smile) or down (frown) by mood
        var my = h / 2 + r * 0.38 - mood * r * 0.05, mx = r * (0.42 + Math.abs(mood) * 0.04)
        ctx.beginPath()
        ctx.moveTo(w / 2 - mx, my)
        ctx.quadraticCurveTo(w / 2, my + mood * r * 0.22, w / 2 + mx, my)
        ctx.stroke()
    }
}
