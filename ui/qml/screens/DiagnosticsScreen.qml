import QtQuick
import Kiosk
import "../components"

// Technician diagnostics: device status, test actions, outbox, network, log.
Item {
    id: screen
    objectName: "diagnosticsScreen"
    readonly property bool portrait: width < height
    readonly property var actions: ["read_id", "read_smartcard", "camera", "face", "print_ticket", "print_a4", "printer_status", "network", "logs"]
    readonly property var labels: ({"read_id": "ui.tech.read_id", "read_smartcard": "ui.tech.read_smartcard",
        "camera": "ui.tech.camera", "face": "ui.tech.face", "print_ticket": "ui.tech.print_ticket", "print_a4": "ui.tech.print_a4",
        "printer_status": "ui.tech.printer_status", "network": "ui.tech.network", "logs": "ui.tech.logs"})

    Row {
        id: bar
        anchors { left: parent.left; right: parent.right; top: parent.top; margins: theme.spacing }
        spacing: theme.spacing
        KText { text: vm.t["ui.tech.title"]; font.pixelSize: theme.title; font.bold: true; anchors.verticalCenter: parent.verticalCenter }
        KText { objectName: "outboxText"; text: tech.outbox; anchors.verticalCenter: parent.verticalCenter; color: theme.muted }
        KButton { objectName: "btnRefresh"; kind: "secondary"; fontSize: theme.small; text: vm.t["ui.tech.refresh"]; onClicked: tech.refresh() }
        KButton { objectName: "btnRestart"; kind: "danger"; fontSize: theme.small; text: vm.t["ui.tech.restart"]; onClicked: tech.restart() }
        KButton { objectName: "btnLeaveTech"; kind: "primary"; fontSize: theme.small; text: vm.t["ui.tech.exit"]; onClicked: tech.leave() }
    }

    Grid {
        id: main
        anchors { left: parent.left; right: parent.right; top: bar.bottom; bottom: parent.bottom; margins: theme.spacing }
        columns: screen.portrait ? 1 : 2
        spacing: theme.spacing
        readonly property real cellW: (width - spacing * (columns - 1)) / columns
        readonly property real cellH: screen.portrait ? (height - spacing) / 2 : height

        // devices
        Panel {
            width: main.cellW; height: main.cellH
            Column {
                anchors.fill: parent; anchors.margins: theme.spacing
                spacing: 8
                KText { text: vm.t["ui.tech.devices"]; font.bold: true }
                Repeater {
                    model: tech.devices
                    delegate: Rectangle {
                        objectName: "device_" + modelData.id
                        width: parent.width; height: devText.implicitHeight + 16
                        radius: 8
                        color: modelData.device === "online" ? "#E8F5E9" : (modelData.device === "deviceBusy" ? "#FFF8E1" : "#FDECEA")
                        KText {
                            id: devText
                            x: 10; y: 8; width: parent.width - 20
                            font.pixelSize: theme.small
                            // the device in the screen's language, its state in words, then the detail
                            text: (vm.t["ui.tech.family." + modelData.family] || modelData.family) + " (" + modelData.id + ") · " + modelData.message
                                  + (modelData.detail_text ? " · " + modelData.detail_text : "")
                                  + (modelData.last_error ? "\n" + modelData.last_error : "")
                        }
                    }
                }
                // camera preview with fps, only while asked for
                Rectangle {
                    visible: camToggle.on
                    width: Math.min(parent.width, 480); height: width * 0.75
                    color: "#202020"
                    CameraView { anchors.fill: parent; feed: camToggle.on ? cameraFeed : null; Component.onDestruction: feed = null }
                    Text {
                        Accessible.role: Accessible.StaticText
                        Accessible.name: text
                        objectName: "cameraFps"
                        anchors { left: parent.left; top: parent.top; margins: 8 }
                        text: cameraFeed.fps.toFixed(1) + " fps"
                        color: "#FFFFFF"; font.pixelSize: theme.small
                    }
                }
                QtObject { id: camToggle; property bool on: false }
            }
        }

        // actions + results + log
        Panel {
            width: main.cellW; height: main.cellH
            Flickable {
                id: flick
                anchors.fill: parent; anchors.margins: theme.spacing
                contentHeight: actionsCol.implicitHeight
                clip: true
                Column {
                    id: actionsCol
                    width: flick.width
                    spacing: 8
                    Repeater {
                        model: screen.actions
                        delegate: Row {
                            spacing: theme.spacing
                            width: actionsCol.width
                            KButton {
                                objectName: "test_" + modelData
                                kind: "secondary"; fontSize: theme.small
                                width: Math.min(360, actionsCol.width * 0.42)   // one width for every test button
                                text: vm.t[screen.labels[modelData]]
                                onClicked: {
                                    if (modelData === "camera") camToggle.on = !camToggle.on
                                    tech.run(modelData)
                                }
                            }
                            KText {
                                objectName: "result_" + modelData
                                width: actionsCol.width * 0.55
                                anchors.verticalCenter: parent.verticalCenter
                                font.pixelSize: theme.small
                                color: tech.results[modelData] ? theme.text : theme.muted
                                text: tech.results[modelData] || (modelData === "logs" ? "" : vm.t["ui.tech.not_run"])
                            }
                        }
                    }
                    KText {
                        objectName: "logText"
                        width: parent.width
                        font.family: "DejaVu Sans Mono"
                        font.pixelSize: 14
                        text: tech.logText
                        color: theme.text
                    }
                }
            }
        }
    }
}
