import QtQuick
import "components"
import "screens"

// Root of the resident screen. Pages are chosen by vm.page; step screens by
// the engine's view name. No decisions here beyond what to draw.
Rectangle {
    id: root
    objectName: "root"
    width: 1920; height: 1080
    color: theme.background
    property bool portrait: width < height

    TopBar {
        id: topBar
        objectName: "topBar"
        anchors { left: parent.left; right: parent.right; top: parent.top }
        compact: root.width < 1400
        z: 2
    }

    Loader {
        id: page
        objectName: "pageLoader"
        anchors { left: parent.left; right: parent.right; top: topBar.bottom; bottom: parent.bottom }
        source: {
            switch (vm.page) {
            case "attract": return "screens/AttractScreen.qml"
            case "catalog": return "screens/CatalogScreen.qml"
            case "step": return "screens/StepScreen.qml"
            case "outOfService": return "screens/OutOfServiceScreen.qml"
            case "techPin": return "screens/PinScreen.qml"
            case "diagnostics": return "screens/DiagnosticsScreen.qml"
            }
            return "screens/AttractScreen.qml"
        }
    }

    // Hidden technician entry: hold the top-left corner for 3 s.
    MouseArea {
        objectName: "techCorner"
        anchors { left: parent.left; top: parent.top }
        width: 120; height: 120
        z: 10
        pressAndHoldInterval: 3000
        onPressAndHold: tech.enter()
    }

    // Notices (staff called, service unavailable...)
    Rectangle {
        objectName: "notice"
        visible: vm.notice !== ""
        z: 5
        anchors.horizontalCenter: parent.horizontalCenter
        anchors.bottom: parent.bottom
        anchors.bottomMargin: theme.spacing * 3
        width: Math.min(parent.width - theme.spacing * 4, noticeText.implicitWidth + theme.spacing * 4)
        height: noticeText.implicitHeight + theme.spacing * 2
        radius: theme.radius
        color: theme.accent
        KText {
            id: noticeText
            objectName: "noticeText"
            anchors.centerIn: parent
            width: Math.min(implicitWidth, root.width - theme.spacing * 8)
            text: vm.notice
            color: theme.onAccent
            horizontalAlignment: Text.AlignHCenter
        }
    }

    IdleOverlay {
        objectName: "idleOverlay"
        anchors.fill: parent
        visible: vm.idleWarning
        z: 20
    }
}
