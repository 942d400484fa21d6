import QtQuick
import "../../components"

// 好差评: five levels as five big buttons (very satisfied ... very dissatisfied).
Item {
    id: view
    objectName: "evaluationView"
    readonly property var s: session.state
    readonly property var levels: s.choices || []
    readonly property var tints: ["#1B5E20", "#2E7D32", "#4A5563", "#B3261E", "#8E1B15"]
    readonly property bool stacked: width < height
    Grid {
        anchors.centerIn: parent
        columns: view.stacked ? 1 : Math.max(1, view.levels.length)
        spacing: theme.spacing
        Repeater {
            model: view.levels
            delegate: Rectangle {
                objectName: "rate_" + modelData.id
                Accessible.role: Accessible.Button
                Accessible.name: modelData.label || modelData.id
                Accessible.description: vm.t["ui.a11y.rating"]
                Accessible.onPressAction: session.send("tap", {"action": modelData.id})
                width: view.stacked ? Math.min(view.width, 900) : (view.width - theme.spacing * 4) / Math.max(5, view.levels.length)
                height: view.stacked ? Math.max(theme.minTarget, Math.min(theme.button * 2, (view.height - theme.spacing * 4) / Math.max(5, view.levels.length)))
                                     : Math.max(theme.minTarget, Math.min(view.height, theme.elderly ? 380 : 320))
                radius: theme.radius
                color: modelData.selected ? view.tints[index % 5] : theme.surface
                border.color: view.tints[index % 5]
                border.width: 4
                // face above the words side by side; face beside the words when stacked
                Grid {
                    anchors.centerIn: parent
                    columns: view.stacked ? 2 : 1
                    spacing: theme.spacing / 2
                    horizontalItemAlignment: Grid.AlignHCenter
                    verticalItemAlignment: Grid.AlignVCenter
                    Smiley {
                        objectName: "face_" + modelData.id
                        // a short screen shrinks the face, never the words
                        width: view.stacked ? theme.title * 1.3
                             : Math.max(theme.title * 0.8, Math.min(theme.huge * 1.2, parent.parent.height - label.height - theme.spacing * 2))
                        height: width
                        mood: [2, 1, 0, -1, -2][index % 5]
                        ink: modelData.selected ? "#FFFFFF" : view.tints[index % 5]
                    }
                    KText {
                        id: label
                        width: Math.min(implicitWidth, view.stacked ? view.width * 0.8 : (view.width - theme.spacing * 4) / 5 - theme.spacing)
                        text: modelData.label || modelData.id
                        font.bold: true
                        color: modelData.selected ? "#FFFFFF" : view.tints[index % 5]
                        horizontalAlignment: Text.AlignHCenter
                    }
                }
                MouseArea { anchors.fill: parent; onClicked: session.send("tap", {"action": modelData.id}) }
            }
        }
    }
    KButton {
        objectName: "btnSubmit"
        visible: !!s.multi
        anchors { right: parent.right; bottom: parent.bottom }
        text: vm.t["ui.common.next"]
        onClicked: session.send("submit")
    }
}
