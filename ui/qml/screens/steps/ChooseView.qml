import QtQuick
import "../../components"

// Choices as big buttons, paged so elderly mode shows fewer at once.
Item {
    id: view
    objectName: "chooseView"
    readonly property var s: session.state
    readonly property var all: s.choices || []
    // as many as fit with a line of label and one of detail (four at most in
    // elderly mode, eight in standard), whole rows only
    readonly property real rowMin: Math.max(theme.minTarget, theme.body * 1.4 + theme.small * 1.4 + theme.spacing * 1.5)
    readonly property int per: Math.max(columns, Math.min(theme.elderly ? 4 : 8,
                                        Math.floor((grid.height + theme.spacing) / (rowMin + theme.spacing)) * columns))
    property int page: 0
    readonly property int pages: Math.max(1, Math.ceil(all.length / per))
    readonly property var shown: all.slice(page * per, page * per + per)
    // elderly pages hold four choices: two columns of two keep them tall
    readonly property int columns: width < 1200 ? 1 : 2
    onAllChanged: if (page >= pages) page = 0
    // a free-text field under the choices (the bad-rating comment), typed on
    // the on-screen keyboard, pinyin or letters; the choices give it the room
    readonly property var textField: (s.fields || []).filter(function(f) { return f.kind === "text" })[0] || null
    property bool typing: false
    property string typed: ""
    onTextFieldChanged: if (!textField) { typing = false; typed = "" }
    function setText(v) {
        typed = v.slice(0, textField.max_length || 200)
        session.send("input", {"field": textField.name, "value": typed})
    }

    Grid {
        id: grid
        visible: !view.typing
        anchors { left: parent.left; top: parent.top; bottom: view.textField ? textBox.top : parent.bottom
                  bottomMargin: view.textField ? theme.spacing : 0
                  right: bar.visible ? bar.left : parent.right; rightMargin: bar.visible ? theme.spacing : 0 }
        columns: view.columns
        spacing: theme.spacing
        Repeater {
            model: view.shown
            delegate: Rectangle {
                objectName: "choice_" + modelData.id
                Accessible.role: view.s.multi ? Accessible.CheckBox : Accessible.Button
                Accessible.name: modelData.label || modelData.id
                Accessible.description: modelData.enabled ? (modelData.detail || "") : (modelData.reason || vm.t["ui.a11y.unavailable"])
                Accessible.checkable: !!view.s.multi
                Accessible.checked: !!modelData.selected
                Accessible.onPressAction: session.send("tap", {"action": modelData.id})
                width: (grid.width - grid.spacing * (grid.columns - 1)) / grid.columns
                // fill the page evenly, never below a finger-sized target
                readonly property int rowsPerPage: Math.ceil(view.per / grid.columns)
                height: Math.max(theme.minTarget, texts.implicitHeight + theme.spacing * 1.5,
                                 Math.min(theme.button * 1.8, (grid.height - grid.spacing * (rowsPerPage - 1)) / rowsPerPage))
                radius: theme.radius
                color: modelData.selected ? theme.primary : (modelData.enabled ? theme.surface : theme.disabled)
                border.color: modelData.enabled ? theme.primary : theme.border
                border.width: 2
                Column {
                    id: texts
                    anchors.verticalCenter: parent.verticalCenter
                    x: theme.spacing; width: parent.width - theme.spacing * 2
                    KText {
                        id: label
                        width: parent.width
                        maximumLineCount: 2
                        elide: Text.ElideRight
                        text: modelData.label || modelData.id
                        font.bold: true
                        color: modelData.selected ? theme.onPrimary : (modelData.enabled ? theme.text : theme.disabledText)
                    }
                    KText {
                        id: detail
                        width: parent.width
                        maximumLineCount: 1
                        elide: Text.ElideRight
                        property string audit: "elide"   // one line of detail; the accessible description has it all
                        visible: text !== ""
                        text: modelData.enabled ? (modelData.detail || "") : (modelData.reason || modelData.detail || "")
                        font.pixelSize: theme.small
                        color: modelData.selected ? theme.onPrimary : (modelData.enabled ? theme.muted : theme.disabledText)
                    }
                }
                MouseArea { anchors.fill: parent; onClicked: session.send("tap", {"action": modelData.id}) }
            }
        }
    }

    Rectangle {
        id: textBox
        objectName: view.textField ? "field_" + view.textField.name : "textBox"
        visible: !!view.textField
        readonly property string label: view.textField ? (view.textField.label || view.textField.name) : ""
        Accessible.role: Accessible.EditableText
        Accessible.name: label
        Accessible.description: view.typed !== "" ? view.typed : vm.t["ui.form.type_here"]
        Accessible.onPressAction: { vm.touched(); view.typing = true }
        anchors { left: parent.left; right: grid.right }
        y: view.typing ? 0 : view.height - height
        // while typing it only shows the text (the keyboard needs the room)
        height: view.typing ? theme.body * 1.3 : Math.max(theme.button, theme.minTarget)
        radius: theme.radius
        color: theme.surface
        border.width: view.typing ? 4 : 2
        border.color: view.typing ? theme.accent : theme.border
        KText {
            objectName: "textBoxValue"
            anchors.verticalCenter: parent.verticalCenter
            x: theme.spacing
            width: parent.width - theme.spacing * 2
            wrapMode: Text.NoWrap
            elide: Text.ElideLeft
            text: view.typed !== "" ? view.typed : textBox.label + "  " + vm.t["ui.form.type_here"]
            color: view.typed !== "" ? theme.text : theme.muted
        }
        MouseArea { anchors.fill: parent; enabled: !view.typing; onClicked: { vm.touched(); view.typing = true } }
    }
    OnScreenKeyboard {
        id: textKeyboard
        objectName: "textKeyboard"
        visible: view.typing
        mode: "text"
        chineseInput: true
        pinyin: vm.lang === "zh"
        margin: theme.spacing / 4
        // four rows (candidates or digits, then letters) in what is left under the text
        rowHeight: Math.min(theme.keyboardKey, (view.height - textBox.height - theme.spacing / 4 - margin * 2 - gap * 3) / 4)
        anchors { left: parent.left; right: grid.right; top: textBox.bottom; topMargin: theme.spacing / 4 }
        onKey: function(k) { view.setText(view.typed + k) }
        onBackspace: view.setText(view.typed.slice(0, -1))
        onClear: view.setText("")
        onDone: view.typing = false
    }

    // paging and submit sit beside the choices so the choices keep the full height
    Column {
        id: bar
        visible: view.pages > 1 || !!s.multi || (s.fields && s.fields.length > 0)
        anchors { right: parent.right; bottom: parent.bottom }
        width: Math.max(theme.minTarget * 2.5, theme.elderly ? 300 : 240)
        spacing: theme.spacing
        KButton {
            objectName: "btnChoicePrev"
            visible: view.pages > 1
            width: parent.width
            kind: "secondary"; enabledLook: view.page > 0
            text: vm.t["ui.catalog.prev"]
            onClicked: { view.page -= 1; vm.touched() }
        }
        KText {
            visible: view.pages > 1
            anchors.horizontalCenter: parent.horizontalCenter
            text: (view.page + 1) + " / " + view.pages
        }
        KButton {
            objectName: "btnChoiceNext"
            visible: view.pages > 1
            width: parent.width
            kind: "secondary"; enabledLook: view.page < view.pages - 1
            text: vm.t["ui.catalog.more"]
            onClicked: { view.page += 1; vm.touched() }
        }
        KButton {
            objectName: "btnSubmit"
            visible: !!s.multi || (s.fields && s.fields.length > 0)
            width: parent.width
            text: vm.t["ui.common.next"]
            onClicked: session.send("submit")
        }
    }
}
