import QtQuick
import "../../components"

// Choices as big buttons, paged so elderly mode shows fewer at once.
Item {
    id: view
    objectName: "chooseView"
    readonly property var s: vm.session
    readonly property var all: s.choices || []
    readonly property int per: theme.elderly ? 4 : 8
    property int page: 0
    readonly property int pages: Math.max(1, Math.ceil(all.length / per))
    readonly property var shown: all.slice(page * per, page * per + per)
    readonly property int columns: (width < 1200 || theme.elderly) ? 1 : 2
    onAllChanged: if (page >= pages) page = 0

    Grid {
        id: grid
        anchors { left: parent.left; right: parent.right; top: parent.top; bottom: bar.top; bottomMargin: theme.spacing }
        columns: view.columns
        spacing: theme.spacing
        Repeater {
            model: view.shown
            delegate: Rectangle {
                objectName: "choice_" + modelData.id
                width: (grid.width - grid.spacing * (grid.columns - 1)) / grid.columns
                height: Math.max(theme.button * 1.2, label.implicitHeight + detail.implicitHeight + theme.spacing * 2)
                radius: theme.radius
                color: modelData.selected ? theme.primary : (modelData.enabled ? theme.surface : theme.disabled)
                border.color: modelData.enabled ? theme.primary : theme.border
                border.width: 2
                Column {
                    anchors.verticalCenter: parent.verticalCenter
                    x: theme.spacing; width: parent.width - theme.spacing * 2
                    KText {
                        id: label
                        width: parent.width
                        text: modelData.label || modelData.id
                        font.bold: true
                        color: modelData.selected ? theme.onPrimary : (modelData.enabled ? theme.text : theme.disabledText)
                    }
                    KText {
                        id: detail
                        width: parent.width
                        visible: text !== ""
                        text: modelData.enabled ? (modelData.detail || "") : (modelData.reason || modelData.detail || "")
                        font.pixelSize: theme.small
                        color: modelData.selected ? theme.onPrimary : (modelData.enabled ? theme.muted : theme.disabledText)
                    }
                }
                MouseArea { anchors.fill: parent; onClicked: vm.send("tap", {"action": modelData.id}) }
            }
        }
    }

    Row {
        id: bar
        anchors { right: parent.right; bottom: parent.bottom }
        spacing: theme.spacing
        KButton {
            objectName: "btnChoicePrev"
            visible: view.pages > 1
            kind: "secondary"; enabledLook: view.page > 0
            text: vm.t["ui.catalog.prev"]
            onClicked: { view.page -= 1; vm.touched() }
        }
        KText {
            visible: view.pages > 1
            anchors.verticalCenter: parent.verticalCenter
            text: (view.page + 1) + " / " + view.pages
        }
        KButton {
            objectName: "btnChoiceNext"
            visible: view.pages > 1
            kind: "secondary"; enabledLook: view.page < view.pages - 1
            text: vm.t["ui.catalog.more"]
            onClicked: { view.page += 1; vm.touched() }
        }
        KButton {
            objectName: "btnSubmit"
            visible: !!s.multi || (s.fields && s.fields.length > 0)
            width: Math.max(implicitWidth, 320)
            text: vm.t["ui.common.next"]
            onClicked: vm.send("submit")
        }
    }
}
