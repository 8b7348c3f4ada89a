"""finemill.filters"""
