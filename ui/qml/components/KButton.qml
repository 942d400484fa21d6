import QtQuick

// A large touch button. Colours and sizes come from the theme only.
Rectangle {
    id: root
    property alias text: label.text
    property string kind: "primary"      // primary | secondary | danger | quiet
    property bool enabledLook: true
    property int fontSize: theme.body
    property real padding: theme.spacing * 3   // room beside the label (rows of tabs use less)
    signal clicked()

    Accessible.role: Accessible.Button
    Accessible.name: label.text
    Accessible.description: enabledLook ? "" : vm.t["ui.a11y.unavailable"]
    Accessible.onPressAction: if (root.enabledLook) root.clicked()

    implicitHeight: Math.max(theme.button, theme.minTarget)
    implicitWidth: Math.max(label.implicitWidth + padding, theme.minTarget * 2)
    radius: theme.radius
    color: !enabledLook ? theme.disabled
         : kind === "primary" ? theme.primary
         : kind === "danger" ? theme.danger
         : kind === "accent" ? theme.accent
         : theme.surface
    border.width: kind === "secondary" || kind === "quiet" ? 2 : 0
    border.color: theme.border
    opacity: area.pressed ? 0.8 : 1.0

    Text {
        Accessible.role: Accessible.StaticText
        Accessible.name: text
        id: label
        objectName: root.objectName ? root.objectName + "Label" : ""
        anchors.centerIn: parent
        width: parent.width - theme.spacing
        horizontalAlignment: Text.AlignHCenter
        wrapMode: Text.WordWrap
        maximumLineCount: 2
        elide: Text.ElideRight
        font.family: theme.font
        font.pixelSize: root.fontSize
        font.bold: root.kind !== "quiet"
        color: !root.enabledLook ? theme.disabledText
             : (root.kind === "primary" ? theme.onPrimary
             : root.kind === "danger" ? theme.onDanger
             : root.kind === "accent" ? theme.onAccent : theme.text)
    }
    MouseArea {
        id: area
        anchors.fill: parent
        onClicked: if (root.enabledLook) root.clicked()
    }
}
