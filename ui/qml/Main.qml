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
        slim: compact && !root.portrait && root.height < 900
        z: 2
    }

    Loader {
        id: page
        objectName: "pageLoader"
        anchors { left: parent.left; right: parent.right; top: notice.visible ? notice.bottom : topBar.bottom; bottom: parent.bottom }
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
        Accessible.ignored: true   // a technician's entry, not for residents
        anchors { left: parent.left; top: parent.top }
        width: 120; height: 120
        z: 10
        pressAndHoldInterval: 3000
        onPressAndHold: tech.enter()
    }

    // Notices (staff called, service unavailable...): a band under the
    // header that moves the page down, so it never covers a card or button.
    Rectangle {
        id: notice
        objectName: "notice"
        visible: vm.notice !== ""
        z: 1
        anchors { left: parent.left; right: parent.right; top: topBar.bottom }
        height: visible ? noticeText.implicitHeight + theme.spacing * 2 : 0
        color: theme.accent
        Accessible.role: Accessible.AlertMessage
        Accessible.name: vm.notice
        KText {
            id: noticeText
            objectName: "noticeText"
            anchors.centerIn: parent
            width: parent.width - theme.spacing * 4
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
