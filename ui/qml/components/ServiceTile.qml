import QtQuick

// One service in the catalog: its title and what it does, or, greyed, why
// it is not available now.  A tap opens it (or says why it cannot).
Rectangle {
    id: tile
    property var service: ({})
    property real tileMin: 0
    objectName: "service_" + service.id
    Accessible.role: Accessible.Button
    Accessible.name: service.title || ""
    Accessible.description: service.available ? (service.summary || "") : (service.reason || vm.t["ui.catalog.unavailable"])
    Accessible.onPressAction: catalog.open(service.id)
    radius: theme.radius
    color: service.available ? theme.surface : theme.disabled
    border.color: service.available ? theme.primary : theme.border
    border.width: 2
    Column {
        // top-aligned, so titles line up whatever the description's length
        y: Math.max(theme.spacing, (parent.height - tile.tileMin) / 2 + theme.spacing / 2)
        x: theme.spacing; width: parent.width - theme.spacing * 2
        spacing: theme.spacing / 2
        KText {
            objectName: "serviceTitle_" + tile.service.id
            width: parent.width
            text: tile.service.title || ""
            font.pixelSize: theme.elderly ? theme.title : theme.body * 1.15
            font.bold: true
            color: tile.service.available ? theme.text : theme.disabledText
            maximumLineCount: 2
            elide: Text.ElideRight
        }
        KText {
            width: parent.width
            visible: !theme.elderly || !tile.service.available
            text: tile.service.available ? (tile.service.summary || vm.t["ui.catalog." + tile.service.category] || "")
                                         : vm.t["ui.catalog.unavailable"] + (tile.service.reason ? vm.t["ui.common.colon"] + tile.service.reason : "")
            font.pixelSize: theme.small
            color: tile.service.available ? theme.muted : theme.disabledText
            maximumLineCount: theme.elderly ? 2 : 3
            elide: Text.ElideRight
            property string audit: "elide"   // a summary; the tile's accessible description and the guide say it all
        }
    }
    MouseArea { anchors.fill: parent; onClicked: catalog.open(tile.service.id) }
}
