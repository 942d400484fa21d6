import QtQuick
import "../../components"

// A page of the document about to be printed, rendered from the engine's PDF.
Item {
    objectName: "previewView"
    readonly property var s: session.state
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
            // the first page of the engine's PDF (flows.state.Preview)
            source: p.document ? "image://kiosk/doc/" + s.session + "/" + p.document + "/1" : ""
        }
    }
}
