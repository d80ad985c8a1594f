"""Two browser sessions, two users, one room: each sees the other's messages appear without reload,
and a /stock= command is answered by the bot in both windows, never shown as a post.

    /usr/bin/python3 two_users_chat.py BASE_URL SCREENSHOT.png

Debian's chromium and chromium-driver, headless; Selenium from python3-selenium (SE_OFFLINE=true
keeps it from looking for drivers on the internet).
"""
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

BASE, SCREENSHOT = sys.argv[1], sys.argv[2]
STAMP = str(int(time.time() * 1000))[-7:]


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1200,900"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(30)
    return driver


def register(driver, username):
    driver.get(BASE + "/")
    wait = WebDriverWait(driver, 30)
    form = wait.until(EC.visibility_of_element_located((By.ID, "register-form")))
    form.find_element(By.NAME, "username").send_keys(username)
    form.find_element(By.NAME, "password").send_keys("correct horse battery")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait.until(EC.visibility_of_element_located((By.ID, "chat")))
    wait.until(EC.text_to_be_present_in_element((By.ID, "username"), username))
    wait.until(EC.text_to_be_present_in_element((By.ID, "room-name"), "general"))


def send(driver, text):
    field = driver.find_element(By.CSS_SELECTOR, "#message-form input[name=text]")
    field.send_keys(text)
    driver.find_element(By.CSS_SELECTOR, "#message-form button[type=submit]").click()


def wait_for_message(driver, text, css="#messages li"):
    WebDriverWait(driver, 15).until(
        lambda d: any(text in item.text for item in d.find_elements(By.CSS_SELECTOR, css)),
        message=f"'{text}' did not appear")


def posts(driver):
    """The messages on screen, without this page's own notes."""
    return [item.text for item in driver.find_elements(By.CSS_SELECTOR, "#messages li:not(.note)")]


def main():
    alice, bob = browser(), browser()
    try:
        register(alice, "alice" + STAMP)
        register(bob, "bob" + STAMP)

        send(alice, "hello from alice <b>not bold</b>")
        wait_for_message(bob, "hello from alice <b>not bold</b>")
        send(bob, "hi alice")
        wait_for_message(alice, "hi alice")

        send(alice, "/stock=aapl.us")
        wait_for_message(alice, "Sent to the bot: /stock=aapl.us", "#messages li.note")
        for driver in (alice, bob):
            wait_for_message(driver, "AAPL.US quote is $93.42 per share", "#messages li.bot")
        for driver in (alice, bob):
            shown = posts(driver)
            assert not any("/stock=" in text for text in shown), f"the command was shown as a post: {shown}"
            # User text is text: the <b> arrived as characters, not as an element.
            assert not driver.find_elements(By.CSS_SELECTOR, "#messages b"), "user text was rendered as HTML"
        alice.save_screenshot(SCREENSHOT)

        # Logging out stops polling and shows the forms again.
        bob.find_element(By.ID, "logout").click()
        WebDriverWait(bob, 10).until(EC.visibility_of_element_located((By.ID, "login-form")))
        print("two_users_chat: 1 passed, 0 failed")
    finally:
        alice.quit()
        bob.quit()


if __name__ == "__main__":
    try:
        main()
    except Exception as error:  # the runner reads the exit status
        print(f"two_users_chat: FAILED: {error!r}", file=sys.stderr)
        sys.exit(1)
