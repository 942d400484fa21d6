import QtQuick
import "../../components"

// A page of the document about to be printed, rendered from the engine's PDF.
Item {
    objectName: "previewView"
    readonly property var s: vm.session
    readonly property var p: s.preview || ({})
    Rectangle {
        anchors.centerIn: parent
        height: parent.height
        width: Math.min(parent.width, height / 1.414)
        color: theme.surface
        border.color: theme.border
        Image {
            objectName: "previewImage"
            anchors.fill: parent
            anchors.margins: 2
            fillMode: Image.PreserveAspectFit
            asynchronous: true
            cache: false
            source: p.doc ? "image://kiosk/doc/" + s.session + "/" + p.doc + "/" + (p.page || 1) : (p.image || "")
        }
        KText {
            visible: !p.doc && !p.image
            anchors.centerIn: parent
            width: parent.width * 0.8
            text: p.text || ""
        }
    }
}
