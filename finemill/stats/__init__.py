"""finemill.stats"""
