import QtQuick

Rectangle {
    color: theme.surface
    radius: theme.radius
    border.color: theme.border
    border.width: 1
}
