import QtQuick

Item {
    id: sp
    property int size: 64
    width: size; height: size
    Repeater {
        model: 8
        Rectangle {
            width: sp.size * 0.16; height: width; radius: width / 2
            color: theme.primary
            opacity: 0.25 + 0.75 * ((index + rot.step) % 8) / 7
            x: sp.size / 2 - width / 2 + Math.cos(index * Math.PI / 4) * sp.size * 0.4
            y: sp.size / 2 - height / 2 + Math.sin(index * Math.PI / 4) * sp.size * 0.4
        }
    }
    NumberAnimation on rotation { from: 0; to: 360; duration: 1600; loops: Animation.Infinite }
    QtObject { id: rot; property int step: 0 }
}
