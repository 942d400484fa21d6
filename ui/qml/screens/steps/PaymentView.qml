import QtQuick
import "../../components"

// Payment QR from the sandbox payment service; the engine polls the payment.
Item {
    objectName: "paymentView"
    readonly property var s: session.state
    readonly property var pay: s.payment || ({})
    Row {
        anchors.centerIn: parent
        spacing: theme.spacing * 3
        Rectangle {
            width: Math.min(view_h, 520); height: width
            property int view_h: parent.parent.height * 0.9
            color: "#FFFFFF"; border.color: theme.border
            Image {
                objectName: "paymentQr"
                anchors.fill: parent; anchors.margins: 16
                smooth: false
                cache: false
                source: pay.qr ? "image://kiosk/qr/" + encodeURIComponent(pay.qr) : ""
            }
        }
        Column {
            anchors.verticalCenter: parent.verticalCenter
            spacing: theme.spacing
            KText { text: vm.t["ui.payment.scan"] }
            KText {
                objectName: "paymentAmount"
                text: pay.amount !== undefined ? "¥ " + pay.amount : ""
                font.pixelSize: theme.huge
                font.bold: true
                color: theme.danger
            }
        }
    }
}
