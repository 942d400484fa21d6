import QtQuick
import "../../components"

// Consent text (from the engine) in a readable panel, with the engine's
// choices (agree / decline) as two large buttons.
Item {
    objectName: "consentView"
    readonly property var s: session.state
    Panel {
        anchors { left: parent.left; right: parent.right; top: parent.top; bottom: buttons.top; bottomMargin: theme.spacing }
        Flickable {
            id: flick
            anchors.fill: parent
            anchors.margins: theme.spacing * 1.5
            contentHeight: body.implicitHeight
            clip: true
            KText {
                id: body
                objectName: "consentText"
                width: flick.width
                text: s.prompt || ""
                lineHeight: 1.3
            }
        }
    }
    Row {
        id: buttons
        anchors { right: parent.right; bottom: parent.bottom }
        spacing: theme.spacing
        layoutDirection: Qt.RightToLeft
        Repeater {
            model: s.choices || []
            delegate: KButton {
                objectName: "choice_" + modelData.id
                kind: index === 0 ? "primary" : "secondary"
                width: Math.max(implicitWidth, theme.elderly ? 420 : 340)
                text: modelData.label || modelData.id
                onClicked: session.send("tap", {"action": modelData.id})
            }
        }
    }
}
