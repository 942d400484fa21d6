"""Pinyin search over the catalog's Chinese names (no Qt needed)."""

from ui.pinyin import matches, spellings


def test_initials_and_full_pinyin_find_the_chinese_name():
    assert spellings("无房证明") == ("wufangzhengming", "wfzm")
    assert matches("wfzm", "无房证明")
    assert matches("WuFang", "无房证明") and matches("wu fang", "无房证明")
    assert matches("gjj", "公积金提取") and matches("jiaotong", "交通违法查询缴款")


def test_other_names_and_non_letters_do_not_match():
    assert not matches("wfzm", "排队取号", "社保缴费证明")
    assert not matches("", "无房证明") and not matches("无房", "无房证明")
    assert not matches("queue", "Queue ticket")   # English is matched as text elsewhere


def test_input_method_offers_words_for_typed_pinyin():
    from ui.pinyin import candidates

    assert candidates("manyi")[0] == ("满意", 5)
    assert candidates("bu man yi")[0] == ("不满意", 7)          # spaces ignored, words joined
    assert candidates("yinhang")[0][0] == "银行"                 # 行 read háng in the word
    assert candidates("zhangbei")[0][0] == "长辈"
    assert ("绿", 2) in candidates("lv")                         # v types ü
    assert candidates("") == [] and candidates("123") == []
    # a composition no word reads whole: words for its leading part, the rest stays typed
    assert all(used < len("zhengmingq") for _, used in candidates("zhengmingq"))
