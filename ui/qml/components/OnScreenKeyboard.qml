import QtQuick

// On-screen keyboard for ID numbers (digits + X), phone numbers, amounts,
// plates (province characters, then letters and digits) and plain text.
// It only produces key presses; the field and the engine validate.
// With chineseInput the text keyboard has a pinyin input method: letters
// build a composition, the candidate bar shows Chinese words for it (from
// vm.pinyinCandidates), a tap types one; 拼音 / ABC switches.
Rectangle {
    id: kb
    property string mode: "text"        // id | phone | number | plate | text
    property bool chineseInput: false   // offer pinyin on the text keyboard
    property bool pinyin: false
    property string composition: ""
    property real margin: theme.spacing  // around the keys; a screen short of room gives less
    property int rowHeight: Math.max(theme.minTarget, theme.keyboardKey)   // likewise, never under 88 / 60 px
    readonly property bool composing: chineseInput && pinyin && mode === "text"
    readonly property var candidates: composing && composition.length > 0 ? vm.pinyinCandidates(composition) : []
    property string value: ""           // current field value (plate page choice)
    property string platePage: ""       // "" = automatic
    signal key(string k)
    signal backspace()
    signal clear()
    signal done()

    readonly property var provinceKeys: ["京","津","沪","渝","冀","豫","云","辽","黑","湘","皖","鲁","新","苏","浙","赣",
        "鄂","桂","甘","晋","蒙","陕","吉","闽","贵","粤","青","藏","川","宁","琼"]
    // the smallest key a finger may get: 60 px, 88 px in elderly mode
    readonly property int minKey: theme.elderly ? 88 : 60
    // The 31 province characters in rows of at most 11, as many rows as keep
    // every key at least minKey wide, filled evenly (8-8-8-7, not 10-10-10-1).
    readonly property var provinces: {
        var fit = Math.max(4, Math.min(11, Math.floor((width - kb.margin * 2 + gap) / (minKey + gap))))
        var count = Math.ceil(provinceKeys.length / fit)
        var per = Math.ceil(provinceKeys.length / count)
        var out = []
        for (var i = 0; i < provinceKeys.length; i += per) out.push(provinceKeys.slice(i, i + per))
        return out
    }
    // Plates never use I or O (they look like 1 and 0).
    readonly property var plateRows: [["1","2","3","4","5","6","7","8","9","0"], ["Q","W","E","R","T","Y","U","P"],
        ["A","S","D","F","G","H","J","K","L"], ["Z","X","C","V","B","N","M"]]
    readonly property var textRows: [["1","2","3","4","5","6","7","8","9","0"], ["Q","W","E","R","T","Y","U","I","O","P"],
        ["A","S","D","F","G","H","J","K","L"], ["Z","X","C","V","B","N","M"]]
    readonly property bool provincePage: mode === "plate" && (platePage === "province" || (platePage === "" && value.length === 0))
    readonly property var rows: {
        if (mode === "id") return [["1","2","3"],["4","5","6"],["7","8","9"],["X","0"]]
        if (mode === "phone") return [["1","2","3"],["4","5","6"],["7","8","9"],["0"]]
        if (mode === "number") return [["1","2","3"],["4","5","6"],["7","8","9"],[".","0"]]
        if (provincePage) return provinces
        if (mode === "plate") return plateRows
        return composing ? textRows.slice(1) : textRows
    }
    readonly property bool numeric: mode === "id" || mode === "phone" || mode === "number"
    readonly property int cols: {
        var n = 1
        for (var i = 0; i < rows.length; i++) n = Math.max(n, rows[i].length)
        return n
    }
    readonly property int sideW: Math.max(theme.minTarget * 2, numeric ? theme.keyboardKey * 2.2 : theme.keyboardKey * 2.4)
    readonly property int gap: 8
    function keyWidth(avail) {
        var ideal = numeric ? theme.keyboardKey * 2.2 : theme.keyboardKey * 1.5
        return Math.min(ideal, (avail - (cols - 1) * gap) / cols)
    }
    // Side keys (delete, clear, confirm) go beside the keys when the keys keep
    // their full size there; on a narrow screen they go in a row underneath,
    // and the widest rows (11 province characters) narrow their keys but
    // never below minKey; the height stays a full finger target.
    readonly property real besideW: keyWidth(width - sideW - theme.spacing - kb.margin * 2)
    readonly property bool stacked: besideW < theme.minTarget
    readonly property int keyW: Math.max(minKey, stacked ? keyWidth(width - kb.margin * 2) : besideW)
    readonly property int keyH: Math.max(theme.elderly ? 88 : 60, rowHeight)
    readonly property int sideCount: mode === "plate" || (chineseInput && mode === "text") ? 4 : 3
    readonly property real sideKeyW: stacked ? (grid.width - gap * (sideCount - 1)) / sideCount : sideW

    color: theme.background
    border.color: theme.border
    radius: theme.radius
    implicitHeight: body.implicitHeight + kb.margin * 2

    function press(k) {
        vm.touched()
        if (kb.composing && k >= "A" && k <= "Z") kb.composition += k.toLowerCase()
        else kb.key(k)
        if (kb.mode === "plate") kb.platePage = ""
    }
    function pick(c) {
        vm.touched()
        kb.key(c.text)
        kb.composition = kb.composition.slice(c.used)
    }
    onComposingChanged: composition = ""
    // the candidate index is built in the background once a Chinese keyboard shows
    onChineseInputChanged: if (chineseInput && visible) vm.pinyinWarmUp()
    onVisibleChanged: if (chineseInput && visible) vm.pinyinWarmUp()

    Grid {
        id: body
        anchors.centerIn: parent
        columns: kb.stacked ? 1 : 2
        spacing: kb.stacked ? kb.gap : theme.spacing
        Column {
            id: grid
            spacing: kb.gap
            // the composition and its candidates, one tap each
            Rectangle {
                id: candidateBar
                objectName: "candidateBar"
                visible: kb.composing
                width: kb.cols * kb.keyW + (kb.cols - 1) * kb.gap
                height: kb.keyH
                radius: theme.radius / 2
                color: theme.surface
                border.color: theme.border
                Text {
                    id: typed
                    objectName: "composition"
                    Accessible.role: Accessible.StaticText
                    Accessible.name: vm.t["ui.keyboard.typing"] + " " + text
                    anchors { left: parent.left; leftMargin: theme.spacing; verticalCenter: parent.verticalCenter }
                    text: kb.composition
                    font.family: theme.font
                    font.pixelSize: Math.min(kb.keyH * 0.5, theme.title)
                    color: theme.text
                }
                Flickable {
                    anchors { left: typed.right; right: parent.right; top: parent.top; bottom: parent.bottom; leftMargin: theme.spacing }
                    contentWidth: cands.width
                    flickableDirection: Flickable.HorizontalFlick
                    clip: true
                    Row {
                        id: cands
                        height: parent.height
                        spacing: kb.gap
                        Repeater {
                            model: kb.candidates
                            delegate: Rectangle {
                                objectName: "cand_" + index
                                property string word: modelData.text
                                Accessible.role: Accessible.Button
                                Accessible.name: modelData.text
                                Accessible.description: vm.t["ui.a11y.candidate"]
                                Accessible.onPressAction: kb.pick(modelData)
                                height: kb.keyH
                                width: Math.max(theme.minTarget, candText.implicitWidth + theme.spacing * 2)
                                radius: theme.radius / 2
                                color: candArea.pressed ? theme.disabled : theme.keyFill
                                border.color: theme.border
                                border.width: 2
                                Text {
                                    id: candText
                                    Accessible.role: Accessible.StaticText
                                    Accessible.name: text
                                    anchors.centerIn: parent
                                    text: modelData.text
                                    font.family: theme.font
                                    font.pixelSize: Math.min(kb.keyH * 0.5, theme.title)
                                    color: theme.text
                                }
                                MouseArea { id: candArea; anchors.fill: parent; onClicked: kb.pick(modelData) }
                            }
                        }
                    }
                }
            }
            Repeater {
                model: kb.rows
                delegate: Row {
                    property var keysOfRow: modelData
                    anchors.horizontalCenter: parent.horizontalCenter
                    spacing: kb.gap
                    Repeater {
                        model: keysOfRow
                        delegate: Rectangle {
                            objectName: "key_" + modelData
                            width: kb.keyW; height: kb.keyH
                            Accessible.role: Accessible.Button
                            Accessible.name: modelData
                            Accessible.description: vm.t["ui.a11y.key"]
                            Accessible.onPressAction: kb.press(modelData)
                            radius: theme.radius / 2
                            color: area.pressed ? theme.disabled : theme.keyFill
                            border.color: theme.border
                            border.width: 2
                            Text {
                                Accessible.role: Accessible.StaticText
                                Accessible.name: text
                                anchors.centerIn: parent
                                text: kb.composing && modelData >= "A" && modelData <= "Z" ? modelData.toLowerCase() : modelData
                                property string audit: "data"   // a plate's province character, in any language
                                font.family: theme.font
                                font.pixelSize: Math.min(kb.keyH * 0.5, theme.title)
                                font.bold: true
                                color: theme.text
                            }
                            MouseArea {
                                id: area
                                anchors.fill: parent
                                onClicked: kb.press(modelData)
                            }
                        }
                    }
                }
            }
        }
        Grid {
            columns: kb.stacked ? kb.sideCount : 1
            spacing: kb.gap
            property real w: kb.sideKeyW
            KButton {
                objectName: "keyBackspace"
                kind: "secondary"; width: parent.w; height: kb.keyH
                text: "⌫ " + vm.t["ui.common.delete"]
                fontSize: theme.small
                onClicked: {
                    vm.touched()
                    if (kb.composition.length > 0) kb.composition = kb.composition.slice(0, -1)
                    else kb.backspace()
                }
            }
            KButton {
                objectName: "keyClear"
                kind: "secondary"; width: parent.w; height: kb.keyH
                text: vm.t["ui.common.clear"]
                fontSize: theme.small
                onClicked: { vm.touched(); kb.composition = ""; kb.clear() }
            }
            KButton {
                objectName: "keyPlatePage"
                visible: kb.mode === "plate"
                kind: "secondary"; width: parent.w; height: kb.keyH
                text: kb.provincePage ? vm.t["ui.keyboard.letters"] : vm.t["ui.keyboard.province"]
                fontSize: theme.small
                onClicked: { vm.touched(); kb.platePage = kb.provincePage ? "alnum" : "province" }
            }
            KButton {
                objectName: "keyInputMode"
                visible: kb.chineseInput && kb.mode === "text"
                kind: "secondary"; width: parent.w; height: kb.keyH
                text: kb.pinyin ? vm.t["ui.keyboard.abc"] : vm.t["ui.keyboard.pinyin"]
                Accessible.description: vm.t["ui.a11y.input_mode"]
                fontSize: theme.small
                onClicked: { vm.touched(); kb.pinyin = !kb.pinyin }
            }
            KButton {
                objectName: "keyDone"
                kind: "primary"; width: parent.w; height: kb.keyH
                text: vm.t["ui.common.confirm"]
                fontSize: theme.small
                onClicked: {
                    vm.touched()
                    if (kb.composition.length > 0) {   // type the first candidate, or the letters
                        kb.key(kb.candidates.length ? kb.candidates[0].text : kb.composition)
                        kb.composition = ""
                    }
                    kb.done()
                }
            }
        }
    }
}
