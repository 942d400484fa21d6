import QtQuick
import Kiosk
import "../../components"

// Live camera preview with an oval face guide; the engine decides the match.
// Landscape: the 4:3 preview fills the height and "verify another way" sits
// beside it; portrait: a square crop of the preview fills the width and the
// button goes below.
Item {
    id: view
    objectName: "faceView"
    readonly property var s: session.state
    readonly property bool stacked: width < height
    Rectangle {
        id: frame
        anchors.horizontalCenter: parent.horizontalCenter
        anchors.top: parent.top
        anchors.topMargin: view.stacked ? 0 : (parent.height - height) / 2
        height: view.stacked ? Math.min(parent.height - other.height - theme.spacing * 2, width) : parent.height
        width: view.stacked ? parent.width : Math.min(parent.width, height * 4 / 3)
        color: "#202020"
        radius: theme.radius
        clip: true
        CameraView {
            id: cam
            objectName: "cameraView"
            anchors.fill: parent
            feed: cameraFeed
            Component.onDestruction: feed = null
        }
        // face guide: an oval the face should fill
        Rectangle {
            objectName: "faceGuide"
            anchors.centerIn: parent
            height: parent.height * 0.72
            width: height * 0.75
            radius: width / 2
            color: "transparent"
            border.width: 6
            border.color: theme.guide
        }
        Rectangle {
            anchors { left: parent.left; right: parent.right; bottom: parent.bottom }
            height: guideText.implicitHeight + theme.spacing
            color: theme.overlay
            KText {
                id: guideText
                objectName: "faceHint"
                anchors.centerIn: parent
                width: parent.width - theme.spacing * 2
                horizontalAlignment: Text.AlignHCenter
                color: "#FFFFFF"
                text: s.hint || vm.t["ui.camera.hint"]
            }
        }
        KText {
            visible: !cameraFeed.hasFrame
            anchors.centerIn: parent
            color: "#FFFFFF"
            text: vm.t["ui.camera.no_frame"]
        }
    }
    // The law requires a non-face way; the engine handles "other_way".
    KButton {
        id: other
        objectName: "btnOtherWay"
        x: view.stacked ? (parent.width - width) / 2 : parent.width - width
        y: view.stacked ? frame.y + frame.height + theme.spacing * 2 : parent.height - height
        width: view.stacked ? Math.min(parent.width, Math.max(implicitWidth + theme.spacing * 2, 600))
                            : Math.min(implicitWidth + theme.spacing * 2, (parent.width - frame.width) / 2 - theme.spacing)
        visible: width > theme.minTarget * 2
        kind: "secondary"
        fontSize: theme.small
        text: vm.t["ui.camera.alternative"]
        onClicked: session.send("tap", {"action": "other_way"})
    }
}
