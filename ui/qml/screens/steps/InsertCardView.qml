import QtQuick
import "../../components"

// A card slides down onto the reader, again and again, until it is read.
Item {
    objectName: "insertCardView"
    readonly property int cardW: Math.min(width * 0.4, theme.elderly ? 560 : 480)
    Rectangle {
        id: reader
        objectName: "cardReaderPicture"
        anchors.horizontalCenter: parent.horizontalCenter
        anchors.bottom: parent.bottom
        anchors.bottomMargin: Math.max(parent.height * 0.12, hint.height + theme.spacing)
        width: cardW * 1.3; height: cardW * 0.32
        z: 1   // the card slides behind the reader's face, so its label stays readable
        radius: theme.radius
        color: theme.text
        Text {
            Accessible.role: Accessible.StaticText
            Accessible.name: text
            anchors.centerIn: parent
            text: vm.t["ui.card.reader"]
            font.family: theme.font; font.pixelSize: theme.small
            color: theme.surface
        }
    }
    Rectangle {
        id: card
        objectName: "idCardPicture"
        anchors.horizontalCenter: parent.horizontalCenter
        width: cardW; height: cardW * 0.63
        radius: theme.radius
        color: "#DCEBF7"
        border.color: theme.accent; border.width: 3
        Rectangle { x: parent.width * 0.66; y: parent.height * 0.15; width: parent.width * 0.26; height: parent.height * 0.6; color: "#A9C6E0"; radius: 6 }
        Column {
            x: parent.width * 0.08; y: parent.height * 0.18; spacing: parent.height * 0.09
            Repeater { model: 4; Rectangle { width: card.width * (0.5 - index * 0.06); height: card.height * 0.07; radius: 3; color: "#7FA6C9" } }
        }
        SequentialAnimation on y {
            loops: Animation.Infinite
            NumberAnimation { from: 0; to: reader.y - card.height * 0.55; duration: 1400; easing.type: Easing.OutCubic }
            PauseAnimation { duration: 900 }
            NumberAnimation { to: 0; duration: 10 }
            PauseAnimation { duration: 300 }
        }
    }
    KText {
        id: hint
        anchors.bottom: parent.bottom
        anchors.horizontalCenter: parent.horizontalCenter
        text: vm.t["ui.card.hint"]
        color: theme.muted
        font.pixelSize: theme.small
    }
}
