import QtQuick
import Kiosk
import "../../components"

// Live camera preview with an oval face guide; the engine decides the match.
Item {
    objectName: "faceView"
    readonly property var s: vm.session
    Rectangle {
        id: frame
        anchors.centerIn: parent
        height: parent.height
        width: Math.min(parent.width, height * 4 / 3)
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
        objectName: "btnOtherWay"
        anchors { right: parent.right; bottom: parent.bottom }
        width: Math.min(implicitWidth + theme.spacing * 2, (parent.width - frame.width) / 2 - theme.spacing)
        visible: width > theme.minTarget * 2
        kind: "secondary"
        fontSize: theme.small
        text: vm.t["ui.camera.alternative"]
        onClicked: vm.send("tap", {"action": "other_way"})
    }
}
