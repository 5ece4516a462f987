"""``report.html``: one self-contained page with the report and a browser over every answer; the slow
test opens it in a real headless Chromium (Debian's chromium and chromium-driver, driven by Selenium)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from helpers.report_rows import before_rows, example_rows, write_responses
from PIL import Image

from unsafe_vlm.report import rescore_run, write_report

CHROMEDRIVER = "/usr/bin/chromedriver"  # Debian's chromium-driver; Selenium Manager cannot download one here
FLIPPED = ("alignment_image/000", "alignment_image/001")  # the re-judge reads these two differently


def page_run(tmp_path: Path, response: str | None = None) -> Path:
    """A fit run with real images (one per index), its answers before training, and one re-judge."""
    images = tmp_path / "images"
    images.mkdir()
    for index in range(8):
        Image.new("RGB", (40, 30), (30 * index, 100, 200 - 20 * index)).save(images / f"{index}.png")

    def with_images(rows):
        for task_rows in rows.values():
            for row in task_rows:
                if row["image"] is not None:
                    row["image"] = str(images / Path(row["image"]).name)
                if response is not None:
                    row["response"] = response
        return rows

    run = tmp_path / "run"
    after = with_images(example_rows())
    write_responses(run, after)
    write_responses(run, with_images(before_rows()), folder="responses_before")
    rejudged = [{**row, "judged": "Safe" if row["judged"] == "Unsafe" else "Unsafe"} if row["id"] in FLIPPED else row
                for row in after["alignment_image"]]  # fmt: skip
    write_responses(run / "rejudged", {"alignment_image": rejudged}, folder="other-0123456789ab")
    scores = rescore_run(run)
    write_report(run, scores.metrics, title="Page test", before=scores.before)
    return run


def answers_of(page: str) -> dict:
    blob = re.search(r'<script type="application/json" id="answers">(.*?)</script>', page, re.S).group(1)
    return json.loads(blob)


def test_report_html_holds_the_report_and_every_answer_with_each_image_once(tmp_path):
    run = page_run(tmp_path)
    page = (run / "report.html").read_text(encoding="utf-8")
    assert "<h2>Headline scores</h2>" in page and "<h2>Before and after training</h2>" in page
    assert "<td class=\"right\">37.5% [12.5, 75.0]</td>" in page  # a score with its interval, from report.md
    assert page.count('<figure><img alt="') >= 3  # the headline, before/after and per-category figures
    answers = answers_of(page)
    assert len(answers["rows"]) == sum(len(rows) for rows in example_rows().values())
    assert answers["fit"] and answers["judges"] == ["other-0123456789ab"]
    assert len(answers["images"]) == 8 and all(url.startswith("data:image/") for url in answers["images"])


def test_the_page_asks_nothing_of_the_network(tmp_path):
    page = (page_run(tmp_path) / "report.html").read_text(encoding="utf-8")
    markup = re.sub(r"<script.*?</script>", "", page, flags=re.S)
    assert re.findall(r'(?:src|href)="(?!data:)[^"]*"', markup) == []
    assert "<script src" not in page
    assert "<link" not in page and "http://" not in page and "https://" not in page


def test_an_answer_holding_a_closing_script_tag_stays_data(tmp_path):
    response = "</script><script>alert(1)</script> <!-- done"
    page = (page_run(tmp_path, response=response) / "report.html").read_text(encoding="utf-8")
    assert answers_of(page)["rows"][0][7] == response
    assert page.count("</script>") == 2  # the data's and the program's


@pytest.mark.slow
def test_the_page_filters_answers_in_a_real_browser(tmp_path):
    # No skip: .ci/run installs the browser, so a missing one is a failure, never a silent pass.
    assert Path(CHROMEDRIVER).is_file() and shutil.which("chromium"), (
        "needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)"
    )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    run = page_run(tmp_path)
    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1300,1600"):  # fmt: skip
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        driver.get((run / "report.html").as_uri())
        count = driver.find_element(By.ID, "count")
        assert count.text.startswith("28 of 28 answers")
        assert len(driver.find_elements(By.CSS_SELECTOR, "#rows tr")) == 28 + 10  # a header row per image or concept

        Select(driver.find_element(By.ID, "task")).select_by_value("perception")
        assert count.text.startswith("8 of 28 answers")
        Select(driver.find_element(By.ID, "verdict")).select_by_value("A")
        assert count.text.startswith("3 of 28 answers")
        Select(driver.find_element(By.ID, "task")).select_by_value("")
        Select(driver.find_element(By.ID, "verdict")).select_by_value("")

        disagree = Select(driver.find_element(By.ID, "disagree"))
        disagree.select_by_value("runs")  # before training every image was called Safe; after, three Unsafe
        assert count.text.startswith("3 of 28 answers")
        disagree.select_by_value("judge0")
        assert count.text.startswith("2 of 28 answers")
        disagree.select_by_value("")

        thumbnail = driver.find_element(By.CSS_SELECTOR, "img.thumb")
        assert "open" not in thumbnail.get_attribute("class")  # blurred until clicked
        thumbnail.click()
        assert "open" in thumbnail.get_attribute("class")
        driver.execute_script("document.getElementById('answers-browser').scrollIntoView()")
        assert driver.save_screenshot(str(tmp_path / "report_html.png"))
        assert (tmp_path / "report_html.png").stat().st_size > 10_000
        errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
        assert errors == []
    finally:
        driver.quit()
