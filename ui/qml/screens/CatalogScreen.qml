import QtQuick
import "../components"

// The catalog: tabs (常用 / 全部 / the categories), search, and pages of
// service tiles with big previous / next buttons (a swipe turns pages too).
// Wide screens put the tabs in a rail on the left, so 26+ services keep
// whole rows of tiles; narrow and portrait screens put them above the tiles.
Item {
    id: screen
    objectName: "catalogScreen"
    readonly property bool portrait: width < height
    // a short screen gives the title's line to the tiles: the tabs say enough
    readonly property bool showTitle: height >= 700
    // the tabs (and the search box) stand in a rail when the screen is wide
    // and tall enough for all of them; otherwise in rows above the tiles
    // (rail tabs are a finger target high, closer together than in rows, so a
    // 768 px screen keeps the rail and two rows of big tiles in elderly mode)
    readonly property real railRoom: height - title.height - theme.spacing * 4
    readonly property int railItems: catalog.tabs.length + (searchBox.visible ? 1 : 0)
    readonly property real railGap: theme.spacing / 3
    readonly property bool rail: width >= 1200 && width > height && (theme.elderly || width >= 1600)
                                 && railItems * (theme.minTarget + railGap) <= railRoom
    property bool typing: false
    readonly property int columns: theme.elderly ? (portrait ? 1 : 2) : (portrait ? 2 : 3)

    KText {
        id: title
        objectName: "catalogTitle"
        visible: screen.showTitle
        anchors { left: parent.left; right: parent.right; top: parent.top; margins: theme.spacing * 2 }
        height: visible ? implicitHeight : 0
        text: vm.t["ui.catalog.title"]
        font.pixelSize: theme.title
        font.bold: true
        maximumLineCount: 2
        elide: Text.ElideRight
    }

    // --- tabs and search: a rail on wide screens, rows above the tiles otherwise
    Flow {
        id: tabs
        objectName: "catalogTabs"
        anchors { left: parent.left; top: title.bottom; margins: theme.spacing * 2
                  topMargin: screen.showTitle ? theme.spacing : 0 }
        width: screen.rail ? Math.min(parent.width * 0.22, theme.elderly ? 460 : 340)
                           : parent.width - theme.spacing * 4
        flow: screen.rail ? Flow.TopToBottom : Flow.LeftToRight
        spacing: screen.rail ? screen.railGap : theme.spacing / 2
        Repeater {
            model: catalog.tabs
            delegate: KButton {
                objectName: "tab_" + modelData.id
                width: screen.rail ? tabs.width : implicitWidth
                height: screen.rail ? theme.minTarget : implicitHeight
                padding: theme.spacing * 1.5
                kind: catalog.category === modelData.id ? "primary" : "secondary"
                fontSize: theme.small
                text: modelData.label
                Accessible.role: Accessible.PageTab
                Accessible.description: catalog.category === modelData.id ? vm.t["ui.catalog.tab_shown"] : ""
                onClicked: { screen.typing = false; catalog.setCategory(modelData.id) }
            }
        }
        // search box: letters via the on-screen keyboard, quick words below
        Rectangle {
            id: searchBox
            objectName: "searchBox"
            visible: !theme.elderly
            width: screen.rail || screen.portrait ? tabs.width : Math.min(560, tabs.width * 0.34)
            height: screen.rail ? theme.minTarget : theme.button
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
                property string audit: "elide"   // a long search keeps its end in view; the box says what it is
                text: catalog.search !== "" ? catalog.search : vm.t["ui.catalog.search"]
                color: catalog.search !== "" ? theme.text : theme.muted
                font.pixelSize: theme.small
            }
            Accessible.role: Accessible.EditableText
            Accessible.name: vm.t["ui.catalog.search"]
            Accessible.description: catalog.search
            Accessible.onPressAction: { screen.typing = !screen.typing; vm.touched() }
            MouseArea { anchors.fill: parent; onClicked: { screen.typing = !screen.typing; vm.touched() } }
        }
    }

    Flow {
        id: quick
        visible: screen.typing
        anchors { left: screen.rail ? tabs.right : parent.left; right: parent.right
                  top: screen.rail ? tabs.top : tabs.bottom
                  leftMargin: theme.spacing * 2; rightMargin: theme.spacing * 2; topMargin: screen.rail ? 0 : theme.spacing }
        height: visible ? implicitHeight : 0
        spacing: theme.spacing / 2
        Repeater {
            model: screen.typing ? catalog.quickWords : []
            delegate: KButton {
                objectName: "quick_" + modelData
                kind: "secondary"; fontSize: theme.small
                text: modelData
                onClicked: catalog.setSearch(modelData)
            }
        }
    }

    // --- tiles, keyboard and pager --------------------------------------------
    Item {
        id: area
        anchors { left: screen.rail ? tabs.right : parent.left; right: parent.right; bottom: parent.bottom
                  top: quick.visible ? quick.bottom : (screen.rail ? tabs.top : tabs.bottom)
                  leftMargin: theme.spacing * 2; rightMargin: theme.spacing * 2
                  topMargin: quick.visible || !screen.rail ? theme.spacing : 0 }

        // The tiles; a swipe across them turns the page (the buttons below do
        // the same).  The flickable never scrolls: it only reports the drag.
        Flickable {
            id: swiper
            objectName: "serviceSwipe"
            anchors { left: parent.left; right: parent.right; top: parent.top
                      bottom: keyboard.visible ? keyboard.top : pager.top; bottomMargin: theme.spacing / 2 }
            contentWidth: width
            contentHeight: height
            flickableDirection: Flickable.HorizontalFlick
            boundsBehavior: Flickable.DragOverBounds
            interactive: catalog.pages > 1 && !keyboard.visible
            onDraggingChanged: {
                if (dragging) return
                var dx = horizontalOvershoot
                if (Math.abs(dx) > Math.max(60, width * 0.08)) catalog.turnPage(dx > 0 ? 1 : -1)
            }
            Grid {
                id: grid
                objectName: "serviceGrid"
                anchors.fill: parent
                columns: screen.columns
                spacing: theme.spacing
                // as many rows as fit with room for a title and two lines of description
                readonly property real tileMin: theme.elderly ? theme.title * 1.35 + theme.small * 1.35 + theme.spacing * 2.5
                                                              : theme.body * 1.55 + theme.small * 2.7 + theme.spacing * 3
                readonly property int rows: Math.max(1, Math.min(Math.ceil(theme.perPage / columns),
                                                               Math.floor((height + spacing) / (tileMin + spacing))))
                // told after the layout settles, so the page size never feeds back into it
                function fit() { catalog.fitTiles(rows * columns) }
                onRowsChanged: Qt.callLater(fit)
                onColumnsChanged: Qt.callLater(fit)
                Component.onCompleted: Qt.callLater(fit)
                Repeater {
                    model: catalog.services
                    delegate: ServiceTile {
                        width: (grid.width - grid.spacing * (grid.columns - 1)) / grid.columns
                        height: Math.max(theme.minTarget, Math.min(
                            (grid.height - grid.spacing * (grid.rows - 1)) / grid.rows, theme.elderly ? 360 : 260))
                        tileMin: grid.tileMin
                        service: modelData
                    }
                }
            }
        }

        KText {
            objectName: "catalogEmpty"
            visible: catalog.services.length === 0
            anchors.centerIn: swiper
            width: swiper.width * 0.8
            horizontalAlignment: Text.AlignHCenter
            text: vm.t["ui.catalog.none"]
            color: theme.muted
        }

        OnScreenKeyboard {
            id: keyboard
            objectName: "searchKeyboard"
            visible: screen.typing
            mode: "text"
            anchors { left: parent.left; right: parent.right; bottom: pager.top; bottomMargin: theme.spacing }
            onKey: function(k) { catalog.setSearch(catalog.search + k) }
            onBackspace: catalog.setSearch(catalog.search.slice(0, -1))
            onClear: catalog.setSearch("")
            onDone: screen.typing = false
        }

        Row {
            id: pager
            objectName: "catalogPager"
            anchors { bottom: parent.bottom; horizontalCenter: parent.horizontalCenter; bottomMargin: theme.spacing }
            spacing: theme.spacing
            height: catalog.pages > 1 ? theme.button : 0
            visible: catalog.pages > 1
            KButton {
                objectName: "btnPrevPage"
                kind: "secondary"
                width: Math.max(implicitWidth, theme.elderly ? 280 : 220)
                enabledLook: catalog.page > 0
                text: "‹ " + vm.t["ui.catalog.prev"]
                onClicked: catalog.turnPage(-1)
            }
            KText {
                objectName: "catalogPageText"
                anchors.verticalCenter: parent.verticalCenter
                text: catalog.pageText
            }
            KButton {
                objectName: "btnNextPage"
                kind: "primary"
                width: Math.max(implicitWidth, theme.elderly ? 280 : 220)
                enabledLook: catalog.page < catalog.pages - 1
                text: vm.t["ui.catalog.more"] + " ›"
                onClicked: catalog.turnPage(1)
            }
        }
    }
}
