import QtQuick
import "../components"

// Frame of every flow step: progress, title, prompt, message, the view for
// the engine's view name, and the back / cancel / action buttons.
Item {
    id: screen
    objectName: "stepScreen"
    readonly property var s: session.state
    readonly property bool portrait: width < height
    readonly property bool isError: s.view === "error"

    Column {
        id: head
        anchors { left: parent.left; right: parent.right; top: parent.top; margins: theme.spacing * 2 }
        spacing: theme.spacing / 2
        Flow {   // wraps: an English service name, the step and "acting for" may not share one line
            spacing: theme.spacing
            width: parent.width
            KText {
                objectName: "serviceTitle"
                text: s.service ? s.service.title || "" : ""
                color: theme.muted
                font.pixelSize: theme.small
            }
            KText {
                objectName: "progressText"
                visible: !!s.progress
                text: s.progress ? vm.t["ui.common.step"].replace("{step}", s.progress.index).replace("{steps}", s.progress.total) : ""
                color: theme.muted
                font.pixelSize: theme.small
            }
            KText {
                objectName: "onBehalf"
                visible: text !== ""
                text: session.onBehalf
                color: theme.primary
                font.pixelSize: theme.small
                font.bold: true
            }
        }
        // progress bar
        Rectangle {
            visible: !!s.progress
            width: parent.width; height: 8; radius: 4
            color: theme.disabled
            Rectangle {
                width: s.progress ? parent.width * s.progress.index / Math.max(1, s.progress.total) : 0
                height: parent.height; radius: 4
                color: theme.primary
            }
        }
        KText {
            objectName: "stepTitle"
            width: parent.width
            text: s.title || (screen.isError ? vm.t["ui.error.title"] : "")
            font.pixelSize: theme.title
            font.bold: true
            color: screen.isError ? theme.danger : theme.text
        }
        KText {
            objectName: "stepPrompt"
            width: parent.width
            visible: text !== "" && s.view !== "consent"   // the consent view shows it in full
            text: s.prompt || ""
        }
        KText {
            objectName: "stepHint"
            width: parent.width
            visible: text !== ""
            text: s.hint || ""
            color: theme.muted
            font.pixelSize: theme.small
        }
        Rectangle {
            objectName: "stepMessageBox"
            visible: !!s.message
            width: parent.width
            height: msg.implicitHeight + theme.spacing * 1.5
            radius: theme.radius
            color: screen.isError ? theme.danger : theme.accent
            KText {
                id: msg
                objectName: "stepMessage"
                anchors.verticalCenter: parent.verticalCenter
                x: theme.spacing; width: parent.width - theme.spacing * 2
                text: s.message || ""
                color: screen.isError ? theme.onDanger : theme.onAccent
            }
        }
    }

    Loader {
        id: body
        objectName: "stepBody"
        anchors { left: parent.left; right: parent.right; top: head.bottom; bottom: footer.top; margins: theme.spacing * 2 }
        source: {
            switch (s.view) {
            case "insert_card": return "steps/InsertCardView.qml"
            case "consent": return "steps/ConsentView.qml"
            case "face": return "steps/FaceView.qml"
            case "form": return "steps/FormView.qml"
            case "choose": return "steps/ChooseView.qml"
            case "result": return "steps/ResultView.qml"
            case "preview": return "steps/PreviewView.qml"
            case "printing": return "steps/PrintingView.qml"
            case "take_paper": return "steps/TakePaperView.qml"
            case "evaluation": return s.multi ? "steps/ChooseView.qml" : "steps/EvaluationView.qml"
            case "payment_qr": return "steps/PaymentView.qml"
            case "error": return "steps/ErrorView.qml"
            }
            return "steps/MessageView.qml"
        }
    }

    // Busy: the machine is working (never blocks the screen; cancel stays)
    Row {
        objectName: "busyIndicator"
        visible: !!s.busy && s.view !== "printing" && s.view !== "insert_card" && s.view !== "face"
        anchors.centerIn: body
        spacing: theme.spacing
        Spinner { size: theme.title * 1.4 }
        KText { text: vm.t["ui.common.please_wait"]; anchors.verticalCenter: parent.verticalCenter }
    }

    Flow {
        id: footer
        objectName: "stepFooter"
        anchors { left: parent.left; right: parent.right; bottom: parent.bottom; margins: theme.spacing * 2 }
        spacing: theme.spacing
        layoutDirection: Qt.RightToLeft
        // Buttons the engine offers for this step (retry, counter, next...) -
        // the form/choose views put their own submit button in the body.
        Repeater {
            model: s.actions || []
            delegate: KButton {
                objectName: "action_" + modelData.id
                // leaving without doing (skip) is never the red primary button
                kind: index === 0 && modelData.id !== "skip" ? "primary" : "secondary"
                width: Math.max(implicitWidth, theme.elderly ? 360 : 280)
                text: modelData.label
                onClicked: session.send("tap", {"action": modelData.id})
            }
        }
        KButton {
            objectName: "btnCancel"
            visible: !!s.can_cancel
            kind: "secondary"
            width: Math.max(implicitWidth, 240)
            text: vm.t["ui.common.cancel"]
            onClicked: session.cancel()
        }
        KButton {
            objectName: "btnBack"
            visible: !!s.can_back
            kind: "secondary"
            width: Math.max(implicitWidth, 200)
            text: "‹ " + vm.t["ui.top.back"]
            onClicked: session.send("back")
        }
        KButton {
            objectName: "btnRepeat"
            kind: "quiet"
            visible: vm.voiceOn
            width: Math.max(implicitWidth, 200)
            text: vm.t["ui.voice.repeat"]
            Accessible.description: vm.t["ui.voice.repeat"]
            onClicked: vm.repeatVoice()
        }
        KText {
            objectName: "secondsLeft"
            visible: s.seconds_left !== null && s.seconds_left !== undefined && !s.busy
            height: theme.button
            verticalAlignment: Text.AlignVCenter
            text: vm.t["ui.common.seconds_left"].replace("{seconds}", vm.idleLeft)
            color: theme.muted
            font.pixelSize: theme.small
        }
    }
}
