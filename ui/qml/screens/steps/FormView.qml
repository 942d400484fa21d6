import QtQuick
import "../../components"

// Fields from the engine; typing goes to the engine as input events, the
// engine validates on submit and sends errors back per field.
Item {
    id: form
    objectName: "formView"
    readonly property var s: session.state
    readonly property var fields: s.fields || []
    property int current: 0
    property var typed: ({})          // what this screen typed, shown instead of a masked value
    readonly property var field: fields.length > current ? fields[current] : null
    readonly property string kbMode: {
        if (!field) return "none"
        var k = field.keyboard
        if (k === "numeric") return field.kind === "amount" ? "number" : "phone"
        if (k === "id" || k === "plate" || k === "text" || k === "date") return k
        return "none"
    }

    function shown(f) {
        return typed[f.name] !== undefined ? typed[f.name] : (f.value === null || f.value === undefined ? "" : String(f.value))
    }
    function setValue(name, value) {
        var t = typed; t[name] = value; typed = t
        session.send("input", {"field": name, "value": value})
    }

    Flickable {
        id: list
        anchors { left: parent.left; right: parent.right; top: parent.top; bottom: kb.visible ? kb.top : submit.top; bottomMargin: theme.spacing }
        contentHeight: col.implicitHeight
        clip: true
        Column {
            id: col
            width: list.width
            spacing: theme.spacing
            Repeater {
                model: form.fields
                delegate: Column {
                    width: col.width
                    spacing: 6
                    KText {
                        text: (modelData.label || modelData.name) + (modelData.required ? "" : vm.t["ui.form.optional"])
                        font.bold: true
                    }
                    Rectangle {
                        objectName: "field_" + modelData.name
                        width: parent.width
                        Accessible.role: modelData.kind === "checkbox" ? Accessible.CheckBox : Accessible.EditableText
                        Accessible.name: modelData.label || modelData.name
                        Accessible.description: modelData.error || (form.shown(modelData) !== "" ? form.shown(modelData) : (modelData.placeholder || ""))
                        Accessible.checkable: modelData.kind === "checkbox"
                        Accessible.checked: form.shown(modelData) === "true"
                        Accessible.onPressAction: {
                            form.current = index
                            if (modelData.kind === "checkbox")
                                form.setValue(modelData.name, form.shown(modelData) === "true" ? "" : "true")
                            vm.touched()
                        }
                        height: Math.max(theme.button, theme.minTarget)
                        radius: theme.radius
                        color: theme.surface
                        border.width: index === form.current ? 4 : 2
                        border.color: modelData.error ? theme.danger : (index === form.current ? theme.accent : theme.border)
                        KText {
                            objectName: "fieldValue_" + modelData.name
                            anchors.verticalCenter: parent.verticalCenter
                            x: theme.spacing
                            width: parent.width - theme.spacing * 2
                            wrapMode: Text.NoWrap
                            elide: Text.ElideLeft
                            visible: modelData.kind !== "checkbox"
                            text: form.shown(modelData) !== "" ? form.shown(modelData) : (modelData.placeholder || "")
                            color: form.shown(modelData) !== "" ? theme.text : theme.muted
                            font.pixelSize: theme.title
                            font.letterSpacing: 2
                        }
                        Row {
                            visible: modelData.kind === "checkbox"
                            anchors.verticalCenter: parent.verticalCenter
                            x: theme.spacing; spacing: theme.spacing
                            Rectangle {
                                width: theme.minTarget * 0.7; height: width; radius: 6
                                border.width: 3; border.color: theme.text
                                color: form.shown(modelData) === "true" ? theme.primary : theme.surface
                                CheckMark { anchors.fill: parent; ink: theme.onPrimary
                                            visible: form.shown(modelData) === "true" }
                            }
                        }
                        MouseArea {
                            anchors.fill: parent
                            onClicked: {
                                form.current = index
                                if (modelData.kind === "checkbox")
                                    form.setValue(modelData.name, form.shown(modelData) === "true" ? "" : "true")
                                vm.touched()
                            }
                        }
                    }
                    KText {
                        objectName: "fieldError_" + modelData.name
                        visible: !!modelData.error
                        width: parent.width
                        text: modelData.error || ""
                        color: theme.danger
                        font.bold: true
                    }
                }
            }
        }
    }

    OnScreenKeyboard {
        id: kb
        objectName: "formKeyboard"
        visible: form.kbMode !== "none"
        mode: form.kbMode === "date" ? "number" : form.kbMode
        chineseInput: !!form.field && form.field.kind === "text" && !form.field.secret
        value: form.field ? form.shown(form.field) : ""
        anchors { left: parent.left; right: parent.right; bottom: submit.top; bottomMargin: theme.spacing }
        onKey: function(k) {
            if (!form.field) return
            var v = form.shown(form.field)
            if (form.field.max_length && v.length >= form.field.max_length) return
            form.setValue(form.field.name, v + (form.kbMode === "date" && k === "." ? "-" : k))
        }
        onBackspace: if (form.field) form.setValue(form.field.name, form.shown(form.field).slice(0, -1))
        onClear: if (form.field) form.setValue(form.field.name, "")
        onDone: {
            if (form.current < form.fields.length - 1) form.current += 1
            else session.send("submit")
        }
    }

    KButton {
        id: submit
        objectName: "btnSubmit"
        anchors { right: parent.right; bottom: parent.bottom }
        width: Math.max(implicitWidth, theme.elderly ? 420 : 320)
        text: vm.t["ui.common.next"]
        onClicked: session.send("submit")
    }
}
