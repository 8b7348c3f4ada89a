"""Every change finemill makes to a third-party library's behaviour, in one place."""
