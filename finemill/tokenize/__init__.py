"""finemill.tokenize"""
