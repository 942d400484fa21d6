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
