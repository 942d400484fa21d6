import QtQuick
import "../../components"

// Consent text (from the engine) with large agree / decline buttons.
Item {
    objectName: "consentView"
    readonly property var s: vm.session
    Panel {
        anchors.fill: parent
        anchors.bottomMargin: 0
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
                text: s.body || s.consent || s.hint || s.prompt || ""
            }
        }
    }
}
