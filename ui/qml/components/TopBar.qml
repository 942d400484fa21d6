import QtQuick

// Header on every screen: the operator's logo and name with the clock, then
// the buttons a resident may need at any moment (home, elderly mode,
// language, volume, call staff).  Wide screens put the buttons on the right;
// narrow (portrait) screens give them a full-width row of equal buttons
// under the name, so long English labels never push them off the screen.
Rectangle {
    id: bar
    property bool compact: false
    // slim: a short landscape screen (1366x768) keeps one row - the emblem,
    // then the buttons - and leaves the clock to the attract screen, so an
    // elderly resident's step keeps the height it needs
    property bool slim: false
    readonly property int brandH: theme.elderly ? 128 : 88
    readonly property bool showHome: vm.page === "catalog" || vm.page === "step"
    readonly property int count: (showHome ? 1 : 0) + (vm.voiceOn ? 1 : 0) + 3
    readonly property int wideH: theme.elderly ? 144 : 104
    readonly property int actionH: compact ? Math.max(theme.minTarget, theme.elderly ? 104 : 80) : wideH - 24
    // compact: every button gets an equal share of the row
    readonly property real shareW: (width - theme.spacing * 2 - (slim ? emblem.width + theme.spacing : 0)
                                    - actions.spacing * (count - 1)) / count
    color: theme.header
    height: slim ? actionH + theme.spacing : compact ? brandH + actionH + theme.spacing : wideH

    Row {
        id: brand
        objectName: "brand"
        x: theme.spacing
        height: bar.compact && !bar.slim ? bar.brandH : bar.height
        spacing: theme.spacing
        // operator's logo (branding.logo) on a light plate; built-in emblem otherwise
        Rectangle {
            id: logoPlate
            objectName: "brandLogo"
            visible: logo.status === Image.Ready
            anchors.verticalCenter: parent.verticalCenter
            height: emblem.height
            width: Math.min(logo.implicitWidth * (height - 12) / Math.max(1, logo.implicitHeight) + 12, height * 4)
            radius: theme.radius / 2
            color: theme.surface
            Image {
                id: logo
                anchors.fill: parent
                anchors.margins: 6
                source: vm.logoUrl
                sourceSize.height: 256
                fillMode: Image.PreserveAspectFit
                smooth: true
                asynchronous: false
            }
        }
        Rectangle {
            id: emblem
            objectName: "brandEmblem"
            visible: !logoPlate.visible
            width: Math.min(bar.compact ? bar.brandH : bar.height, 132) * 0.62; height: width; radius: width / 2
            color: theme.onHeader
            anchors.verticalCenter: parent.verticalCenter
            Text {
                Accessible.role: Accessible.Graphic
                Accessible.name: vm.brandName
                anchors.centerIn: parent
                text: "政"
                property string audit: "bilingual"   // the emblem's character, on every language's screen
                font.family: theme.font
                font.pixelSize: parent.height * 0.55
                font.bold: true
                color: theme.header
            }
        }
        Column {
            visible: !bar.slim
            anchors.verticalCenter: parent.verticalCenter
            Text {
                Accessible.role: Accessible.StaticText
                Accessible.name: text
                objectName: "brandName"
                text: vm.brandName
                font.family: theme.font
                font.pixelSize: theme.body
                font.bold: true
                color: theme.onHeader
                width: Math.min(implicitWidth, bar.compact ? bar.width - emblem.width * 4 : bar.width - actions.width - 240)
                elide: Text.ElideRight
            }
            Text {
                Accessible.role: Accessible.StaticText
                Accessible.name: text
                objectName: "clock"
                text: vm.clock + "  " + (theme.elderly ? vm.shortDate : vm.date)
                font.family: theme.font
                font.pixelSize: theme.small
                color: theme.onHeader
                width: Math.min(implicitWidth, bar.compact ? bar.width - emblem.width * 2 : bar.width - actions.width - emblem.width - theme.spacing * 4)
                elide: Text.ElideRight
            }
        }
    }

    Row {
        id: actions
        objectName: "topActions"
        anchors.right: parent.right
        anchors.rightMargin: theme.spacing
        y: bar.compact && !bar.slim ? bar.brandH : (bar.height - bar.actionH) / 2
        spacing: theme.spacing / 2
        // wide layout: natural widths; compact: the row shared in proportion
        // to the labels, so "呼叫工作人员" or "Volume 80%" stay on one line
        readonly property real naturalSum: (bar.showHome ? btnHome.implicitWidth : 0) + btnElderly.implicitWidth
                                           + btnLang.implicitWidth + (vm.voiceOn ? btnVolume.implicitWidth : 0)
                                           + btnCallStaff.implicitWidth
        function w(natural) {
            return bar.compact ? natural * (bar.shareW * bar.count) / Math.max(1, naturalSum) : natural
        }
        KButton {
            id: btnHome
            objectName: "btnHome"
            visible: bar.showHome
            kind: "secondary"; height: bar.actionH; fontSize: theme.small
            width: actions.w(implicitWidth)
            text: vm.t["ui.top.home"]
            onClicked: vm.home()
        }
        KButton {
            id: btnElderly
            objectName: "btnElderly"
            kind: "secondary"; height: bar.actionH; fontSize: theme.small
            width: actions.w(implicitWidth)
            text: theme.elderly ? vm.t["ui.top.standard"] : vm.t["ui.top.elderly"]
            onClicked: vm.toggleElderly()
        }
        KButton {
            id: btnLang
            objectName: "btnLang"
            property string audit: "bilingual"   // names the other language, in that language
            kind: "secondary"; height: bar.actionH; fontSize: theme.small
            width: actions.w(implicitWidth)
            text: vm.t["ui.top.language"]
            onClicked: vm.toggleLang()
        }
        KButton {
            id: btnVolume
            objectName: "btnVolume"
            visible: vm.voiceOn
            kind: "secondary"; height: bar.actionH; fontSize: theme.small
            width: actions.w(implicitWidth)
            // three steps: off, medium, loud
            text: vm.t["ui.top.volume"] + " " + Math.round(vm.volume * 100) + "%"
            onClicked: vm.setVolume(vm.volume <= 0 ? 0.5 : (vm.volume < 0.7 ? 1.0 : 0.0))
        }
        KButton {
            id: btnCallStaff
            objectName: "btnCallStaff"
            kind: "accent"; height: bar.actionH; fontSize: theme.small
            width: actions.w(implicitWidth)
            text: "☎ " + vm.t["ui.top.call_staff"]
            onClicked: vm.callStaff()
        }
    }
}
