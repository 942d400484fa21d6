import QtQuick

Text {
    font.family: theme.font
    font.pixelSize: theme.body
    color: theme.text
    wrapMode: Text.WordWrap
    Accessible.role: Accessible.StaticText
    Accessible.name: text
}
