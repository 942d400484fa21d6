import QtQuick
import "../components"

Item {
    id: screen
    objectName: "catalogScreen"
    property bool portrait: width < height
    property bool typing: false
    readonly property int columns: theme.elderly ? (portrait ? 1 : 2) : (portrait ? 2 : 3)

    Column {
        id: top
        anchors { left: parent.left; right: parent.right; top: parent.top; margins: theme.spacing * 2 }
        spacing: theme.spacing
        KText {
            objectName: "catalogTitle"
            text: vm.t["ui.catalog.title"]
            font.pixelSize: theme.title
            font.bold: true
        }
        // category tabs
        Flow {
            width: parent.width
            spacing: theme.spacing / 2
            Repeater {
                model: ["all", "approval", "convenience", "public"]
                delegate: KButton {
                    objectName: "tab_" + modelData
                    kind: vm.category === modelData ? "primary" : "secondary"
                    fontSize: theme.small
                    text: vm.t["ui.catalog." + modelData]
                    onClicked: vm.setCategory(modelData)
                }
            }
            // search box: letters via the on-screen keyboard, quick words below
            Rectangle {
                objectName: "searchBox"
                visible: !theme.elderly
                width: screen.portrait ? parent.width : Math.min(560, parent.width * 0.32)
                height: theme.button
                radius: theme.radius
                color: theme.surface
                border.color: screen.typing ? theme.accent : theme.border
                border.width: 2
                KText {
                    objectName: "searchField"
                    anchors.verticalCenter: parent.verticalCenter
                    anchors.left: parent.left; anchors.leftMargin: theme.spacing
                    width: parent.width - theme.spacing * 2
                    elide: Text.ElideRight
                    wrapMode: Text.NoWrap
                    text: vm.search !== "" ? vm.search : vm.t["ui.catalog.search"]
                    color: vm.search !== "" ? theme.text : theme.muted
                    font.pixelSize: theme.small
                }
                Accessible.role: Accessible.EditableText
                Accessible.name: vm.t["ui.catalog.search"]
                Accessible.description: vm.search
                Accessible.onPressAction: { screen.typing = !screen.typing; vm.touched() }
                MouseArea { anchors.fill: parent; onClicked: { screen.typing = !screen.typing; vm.touched() } }
            }
        }
        Flow {
            visible: screen.typing
            width: parent.width
            spacing: theme.spacing / 2
            Repeater {
                model: vm.quickWords
                delegate: KButton {
                    objectName: "quick_" + modelData
                    kind: "secondary"; fontSize: theme.small
                    text: modelData
                    onClicked: vm.setSearch(modelData)
                }
            }
        }
    }

    Grid {
        id: grid
        objectName: "serviceGrid"
        anchors { left: parent.left; right: parent.right; top: top.bottom; margins: theme.spacing * 2 }
        anchors.bottom: keyboard.visible ? keyboard.top : pager.top
        columns: screen.columns
        spacing: theme.spacing
        // as many rows as fit with room for a title and two lines of description
        readonly property real tileMin: theme.elderly ? theme.title * 1.35 + theme.small * 1.35 + theme.spacing * 2.5
                                                      : theme.body * 1.55 + theme.small * 2.7 + theme.spacing * 3
        readonly property int rows: Math.max(1, Math.min(Math.ceil(theme.perPage / columns),
                                                       Math.floor((height + spacing) / (tileMin + spacing))))
        onRowsChanged: vm.fitTiles(rows * columns)
        onColumnsChanged: vm.fitTiles(rows * columns)
        Component.onCompleted: vm.fitTiles(rows * columns)
        Repeater {
            model: vm.services
            delegate: Rectangle {
                objectName: "service_" + modelData.id
                width: (grid.width - grid.spacing * (grid.columns - 1)) / grid.columns
                height: Math.max(theme.minTarget, Math.min(
                    (grid.height - grid.spacing * (grid.rows - 1)) / grid.rows, theme.elderly ? 360 : 260))
                Accessible.role: Accessible.Button
                Accessible.name: modelData.title
                Accessible.description: modelData.available ? (modelData.summary || "") : (modelData.reason || "")
                Accessible.onPressAction: vm.openService(modelData.id)
                radius: theme.radius
                color: modelData.available ? theme.surface : theme.disabled
                border.color: modelData.available ? theme.primary : theme.border
                border.width: 2
                Column {
                    // top-aligned, so titles line up whatever the description's length
                    y: Math.max(theme.spacing, (parent.height - grid.tileMin) / 2 + theme.spacing / 2)
                    x: theme.spacing; width: parent.width - theme.spacing * 2
                    spacing: theme.spacing / 2
                    KText {
                        objectName: "serviceTitle_" + modelData.id
                        width: parent.width
                        text: modelData.title
                        font.pixelSize: theme.elderly ? theme.title : theme.body * 1.15
                        font.bold: true
                        color: modelData.available ? theme.text : theme.disabledText
                        maximumLineCount: 2
                        elide: Text.ElideRight
                    }
                    KText {
                        width: parent.width
                        visible: !theme.elderly || !modelData.available
                        text: modelData.available ? (modelData.summary || vm.t["ui.catalog." + modelData.category] || "")
                                                  : vm.t["ui.catalog.unavailable"] + (modelData.reason ? (vm.lang === "zh" ? "：" : ": ") + modelData.reason : "")
                        font.pixelSize: theme.small
                        color: modelData.available ? theme.muted : theme.disabledText
                        maximumLineCount: theme.elderly ? 2 : 3
                        elide: Text.ElideRight
                    }
                }
                MouseArea { anchors.fill: parent; onClicked: vm.openService(modelData.id) }
            }
        }
    }

    KText {
        objectName: "catalogEmpty"
        visible: vm.services.length === 0
        anchors.centerIn: grid
        width: grid.width * 0.8
        horizontalAlignment: Text.AlignHCenter
        text: vm.t["ui.catalog.none"]
        color: theme.muted
    }

    OnScreenKeyboard {
        id: keyboard
        objectName: "searchKeyboard"
        visible: screen.typing
        mode: "text"
        anchors { left: parent.left; right: parent.right; bottom: pager.top; margins: theme.spacing }
        onKey: function(k) { vm.setSearch(vm.search + k) }
        onBackspace: vm.setSearch(vm.search.slice(0, -1))
        onClear: vm.setSearch("")
        onDone: screen.typing = false
    }

    Row {
        id: pager
        anchors { bottom: parent.bottom; horizontalCenter: parent.horizontalCenter; bottomMargin: theme.spacing }
        spacing: theme.spacing
        height: vm.catalogPages > 1 ? theme.button : 0
        visible: vm.catalogPages > 1
        KButton {
            objectName: "btnPrevPage"
            kind: "secondary"
            enabledLook: vm.catalogPage > 0
            text: vm.t["ui.catalog.prev"]
            onClicked: vm.turnPage(-1)
        }
        KText {
            objectName: "catalogPageText"
            anchors.verticalCenter: parent.verticalCenter
            text: vm.catalogPageText
        }
        KButton {
            objectName: "btnNextPage"
            kind: "primary"
            enabledLook: vm.catalogPage < vm.catalogPages - 1
            text: vm.t["ui.catalog.more"]
            onClicked: vm.turnPage(1)
        }
    }
}
