import QtQuick

// A drawn check mark (fonts render U+2713 as a root sign in some CJK faces).
Canvas {
    property color ink: "#FFFFFF"
    onInkChanged: requestPaint()
    onPaint: {
        var ctx = getContext("2d"), w = width, h = height
        ctx.reset()
        ctx.lineWidth = Math.max(4, w / 10)
        ctx.lineCap = "round"; ctx.lineJoin = "round"
        ctx.strokeStyle = ink
        ctx.beginPath()
        ctx.moveTo(w * 0.22, h * 0.52)
        ctx.lineTo(w * 0.43, h * 0.72)
        ctx.lineTo(w * 0.78, h * 0.30)
        ctx.stroke()
    }
}
