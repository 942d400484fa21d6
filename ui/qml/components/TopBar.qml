import QtQuick

// Header on every screen: hall name and clock, then the buttons a resident
// may need at any moment (home/back, elderly mode, language, call staff).
Rectangle {
    id: bar
    property bool compact: false
    color: theme.header
    height: theme.elderly ? 132 : 104

    Row {
        id: brand
        anchors.left: parent.left
        anchors.leftMargin: theme.spacing
        anchors.verticalCenter: parent.verticalCenter
        spacing: theme.spacing
        Rectangle {   // emblem
            width: bar.height * 0.62; height: width; radius: width / 2
            color: theme.onHeader
            anchors.verticalCenter: parent.verticalCenter
            Text {
                anchors.centerIn: parent
                text: "政"
                font.family: theme.font
                font.pixelSize: parent.height * 0.55
                font.bold: true
                color: theme.header
            }
        }
        Column {
            anchors.verticalCenter: parent.verticalCenter
            visible: !bar.compact || vm.page === "attract"
            Text {
                objectName: "hallName"
                text: vm.hallName
                font.family: theme.font
                font.pixelSize: theme.elderly ? theme.small : theme.body
                font.bold: true
                color: theme.onHeader
                width: Math.min(implicitWidth, bar.width * (bar.compact ? 0.9 : 0.34))
                elide: Text.ElideRight
            }
            Text {
                objectName: "clock"
                text: vm.clock + "  " + vm.date
                font.family: theme.font
                font.pixelSize: theme.elderly ? 26 : 20
                color: theme.onHeader
            }
        }
    }

    Row {
        id: actions
        objectName: "topActions"
        anchors.right: parent.right
        anchors.rightMargin: theme.spacing
        anchors.verticalCenter: parent.verticalCenter
        spacing: theme.spacing / 2
        property int h: bar.height - 24
        KButton {
            objectName: "btnHome"
            visible: vm.page === "catalog" || vm.page === "step"
            kind: "secondary"; height: actions.h; fontSize: theme.small
            text: vm.t["ui.top.home"]
            onClicked: vm.home()
        }
        KButton {
            objectName: "btnElderly"
            kind: "secondary"; height: actions.h; fontSize: theme.small
            text: theme.elderly ? vm.t["ui.top.standard"] : vm.t["ui.top.elderly"]
            onClicked: vm.toggleElderly()
        }
        KButton {
            objectName: "btnLang"
            kind: "secondary"; height: actions.h; fontSize: theme.small
            text: vm.t["ui.top.language"]
            onClicked: vm.toggleLang()
        }
        KButton {
            objectName: "btnVolume"
            visible: vm.voiceOn
            kind: "secondary"; height: actions.h; fontSize: theme.small
            width: Math.max(implicitWidth, actions.h * 1.6)
            // three steps: off, medium, loud
            text: vm.t["ui.top.volume"] + " " + Math.round(vm.volume * 100) + "%"
            onClicked: vm.setVolume(vm.volume <= 0 ? 0.5 : (vm.volume < 0.7 ? 1.0 : 0.0))
        }
        KButton {
            objectName: "btnCallStaff"
            kind: "accent"; height: actions.h; fontSize: theme.small
            text: "☎ " + vm.t["ui.top.call_staff"]
            onClicked: vm.callStaff()
        }
    }
}
