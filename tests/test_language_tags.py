"""Language tags in every spelling Home Assistant, automations and the models use read as one."""

from __future__ import annotations

import pytest

from voxhub import language


@pytest.mark.parametrize("tag", ["en-US", "en_US", "en-us", "EN_us", " en-US "])
def test_every_spelling_of_american_english_is_one_tag(tag: str) -> None:
    assert language.normalize(tag) == "en_US"
    assert language.base(tag) == "en"


def test_a_bare_language_and_a_script_keep_their_shape() -> None:
    assert language.normalize("EN") == "en"
    assert language.normalize("zh-hant") == "zh_Hant"
    assert language.normalize("es-419") == "es_419"


@pytest.mark.parametrize("text", ["", "english", "e", "en US", "en-U$"])
def test_text_that_is_no_language_tag_is_refused_by_name(text: str) -> None:
    with pytest.raises(ValueError, match="not a language tag"):
        language.normalize(text)


def test_what_is_advertised_lists_each_spelling_once_in_order() -> None:
    assert language.advertised(["en_US", "en_GB"]) == [
        "en_US", "en-US", "en-us", "en", "en_GB", "en-GB", "en-gb"]
    assert language.advertised(["en"], with_bare=False) == ["en"]


def test_a_bare_recognizer_language_gets_the_regions_home_assistant_sends() -> None:
    tags = language.advertised(language.with_common_regions(["en"]), with_bare=False)
    assert tags[0] == "en"
    assert {"en-US", "en_US", "en-us", "en-GB"} <= set(tags)


@pytest.mark.parametrize(("wanted", "tag", "expected"), [
    ("en", "en_US", True), ("en-US", "en_US", True), ("en-us", "en_US", True),
    ("en-GB", "en_US", False), ("en-GB", "en", True), ("fr", "en_US", False),
])
def test_a_request_is_served_by_the_same_language_and_region(wanted: str, tag: str,
                                                             expected: bool) -> None:
    assert language.matches(wanted, tag) is expected


def test_the_best_tag_prefers_the_default_then_the_region_then_the_language() -> None:
    tags = ["en_GB", "en_US", "fr_FR"]
    assert language.best("en", tags, preferred="en_US") == "en_US"
    assert language.best("en", tags) == "en_GB"
    assert language.best("en-us", tags) == "en_US"
    assert language.best("fr-CA", tags) is None
    assert language.best("fr", tags) == "fr_FR"
